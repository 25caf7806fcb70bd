package controller

import (
	"context"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestLeaderElection: two replicas share one (fake) API server. Both
// build and serve; only the Lease holder writes status. When the leader
// stops, it releases the Lease, the other takes over, and it is the one
// writing the status of a route changed after that.
func TestLeaderElection(t *testing.T) {
	c := newCluster(t, baseObjects()...)
	ra, rb := c.replica(), c.replica()
	wa, wb := ra.countStatusUpdates(), rb.countStatusUpdates()
	recA, recB := &recorder{dir: t.TempDir()}, &recorder{dir: t.TempDir()}
	lease := func(id string, rec *recorder) Config {
		return Config{Build: rec.build, Identity: id, LeaseNamespace: "gatehouse-system",
			LeaseDuration: 6 * time.Second, RenewDeadline: 4 * time.Second, RetryPeriod: 100 * time.Millisecond}
	}
	a, stopA := start(t, ra, lease("a", recA))
	b, stopB := start(t, rb, lease("b", recB))

	waitFor(t, "a leader", func() bool { return a.IsLeader() || b.IsLeader() })
	// Either may win the race for the Lease.
	follower, wLeader, wFollower, recFollower, stopLeader, followerID := b, wa, wb, recB, stopA, "b"
	if b.IsLeader() {
		follower, wLeader, wFollower, recFollower, stopLeader, followerID = a, wb, wa, recA, stopB, "a"
	}
	waitFor(t, "statuses written", func() bool {
		s, _ := routeCondition(t, c, "r1", "Accepted")
		return s == "True"
	})
	waitFor(t, "both replicas built", func() bool {
		na, _, _ := recA.snapshot()
		nb, _, _ := recB.snapshot()
		return na > 0 && nb > 0
	})
	if wLeader.Load() == 0 || wFollower.Load() != 0 {
		t.Fatalf("status updates: leader %d, follower %d", wLeader.Load(), wFollower.Load())
	}

	stopLeader()
	waitFor(t, "the follower to lead", follower.IsLeader)
	l, err := c.kube.CoordinationV1().Leases("gatehouse-system").Get(context.Background(), DefaultLeaseName, metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != followerID {
		t.Fatalf("lease %+v, %v", l, err)
	}

	// A change after the takeover: the new leader writes its status.
	if err := c.create(route("r2", "/broken", "nope")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "r2 status from the new leader", func() bool {
		s, reason := routeCondition(t, c, "r2", "ResolvedRefs")
		return s == "False" && reason == "BackendNotFound"
	})
	if wFollower.Load() == 0 {
		t.Error("the new leader wrote nothing")
	}
	if _, objs, _ := recFollower.snapshot(); len(objs) == 0 {
		t.Error("the new leader's Build saw nothing")
	}
}

// TestPromotionWritesStatus: a replica that becomes leader later (the
// Lease was held by a replica that died without releasing it) writes the
// status of what it serves without waiting for a change.
func TestPromotionWritesStatus(t *testing.T) {
	now := metav1.NewMicroTime(time.Now())
	ghost := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: DefaultLeaseName, Namespace: "default"},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: new("ghost"), LeaseDurationSeconds: new(int32(1)), AcquireTime: &now, RenewTime: &now}}
	c := newCluster(t, append(baseObjects(), ghost)...)
	rec := &recorder{dir: t.TempDir()}
	ctl, _ := start(t, c, Config{Build: rec.build, Identity: "heir",
		LeaseDuration: 6 * time.Second, RenewDeadline: 4 * time.Second, RetryPeriod: 100 * time.Millisecond})
	waitFor(t, "a build", func() bool { n, _, _ := rec.snapshot(); return n > 0 })
	waitFor(t, "the heir to lead", ctl.IsLeader)
	waitFor(t, "statuses from the new leader", func() bool {
		s, _ := condition(getGateway(t, c).Status.Conditions, "Programmed")
		return s == "True"
	})
}
