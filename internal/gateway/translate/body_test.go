package translate

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/observe"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A route's body filters reach the action in list order and count under
// the route's name; set entries apply parent first.
func TestBodyFilters(t *testing.T) {
	rc := &config.Route{
		Name: "r",
		Filters: []*config.Filter{
			{RequestBody: &config.BodyTransform{
				Set:      map[string]any{"a.b": "x", "a": map[string]any{"k": json.Number("1")}},
				Rename:   config.PathMap{"old": "new"},
				MaxBytes: 1 << 10,
			}},
			{ResponseBody: &config.BodyTransform{JQ: `{got: .}`, MaxBytes: 1 << 10}},
		},
	}
	m := observe.NewMetrics()
	h := Filters(rc, FilterEnv{Metrics: m})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}))
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{"old":1}`))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if want := `{"got":{"a":{"b":"x","k":1},"new":1}}`; w.Body.String() != want {
		t.Fatalf("got %s, want %s", w.Body, want)
	}
	for _, dir := range []string{"request", "response"} {
		want := `gatehouse_body_transforms_total{direction="` + dir + `",result="transformed",route="r"} 1`
		if n, err := testutil.GatherAndCount(m.Registry, "gatehouse_body_transforms_total"); err != nil || n != 2 {
			t.Errorf("series %d, %v", n, err)
		}
		if text := gathered(t, m); !strings.Contains(text, want) {
			t.Errorf("missing %s in\n%s", want, text)
		}
	}
}

func gathered(t *testing.T, m *observe.Metrics) string {
	t.Helper()
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, f := range fams {
		if f.GetName() != "gatehouse_body_transforms_total" {
			continue
		}
		for _, mt := range f.GetMetric() {
			b.WriteString(f.GetName() + "{")
			for i, l := range mt.GetLabel() {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(l.GetName() + `="` + l.GetValue() + `"`)
			}
			b.WriteString("} " + strconv.FormatFloat(mt.GetCounter().GetValue(), 'g', -1, 64) + "\n")
		}
	}
	return b.String()
}

// A set: value with ${...} is rendered from the request (a one-variable
// template keeps its JSON type), and a response_body's when: reads the
// status: a 500 is left alone.
func TestBodyTemplatesAndWhen(t *testing.T) {
	rc := &config.Route{Name: "r", Filters: []*config.Filter{
		{RequestBody: &config.BodyTransform{Set: map[string]any{"by": "${header.x-user}", "q": "n=${query.n}", "lit": "$${x}"}, MaxBytes: 1 << 10}},
		{ResponseBody: &config.BodyTransform{Wrap: "data", MaxBytes: 1 << 10}, When: "status < 500"},
	}}
	status := 200
	h := Filters(rc, FilterEnv{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(b)
	}))
	for _, c := range []struct {
		status int
		want   string
	}{
		{200, `{"data":{"by":"ann","lit":"${x}","q":"n=7"}}`},
		{500, `{"by":"ann","lit":"${x}","q":"n=7"}`},
	} {
		status = c.status
		r := httptest.NewRequest("POST", "/?n=7", strings.NewReader(`{}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-User", "ann")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Body.String() != c.want {
			t.Errorf("status %d: got %s, want %s", c.status, w.Body, c.want)
		}
	}
}
