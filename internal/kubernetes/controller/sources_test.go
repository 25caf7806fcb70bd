package controller

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// TestSameContent: the controller's own status writes come back as
// informer updates; they must not count as changes (or every status write
// would rebuild once more), while spec, label and annotation changes must.
func TestSameContent(t *testing.T) {
	old := route("r", "/a", "s")
	statusOnly := old.DeepCopy()
	statusOnly.ResourceVersion = "42"
	statusOnly.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "gatehouse"}}
	statusOnly.Status.Parents = []gwv1.RouteParentStatus{{ControllerName: "x"}}
	if !sameContent(old, statusOnly) {
		t.Error("a status-only update counted as a change")
	}
	spec := old.DeepCopy()
	spec.Spec.Rules[0].Matches[0].Path.Value = new("/b")
	labels := old.DeepCopy()
	labels.Labels = map[string]string{"a": "b"}
	for name, o := range map[string]*gwv1.HTTPRoute{"spec": spec, "labels": labels} {
		if sameContent(old, o) {
			t.Errorf("a %s change was ignored", name)
		}
	}
}

// TestSettleMaxDelay: a stream of events that never goes quiet still
// rebuilds once MaxDelay has passed since the first.
func TestSettleMaxDelay(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := make(chan struct{})
	go func() {
		for {
			select {
			case events <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	done := make(chan bool, 1)
	go func() { done <- settle(ctx, events, time.Hour, 50*time.Millisecond) }()
	select {
	case ok := <-done:
		if !ok {
			t.Error("settle reported cancellation")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("settle never returned under a steady event stream")
	}
}
