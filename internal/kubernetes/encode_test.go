package kubernetes

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// TestEncodeKeepsChoices: zero values are left out so defaults apply, but
// header values are user data and stay, even empty or "0".
func TestEncodeKeepsChoices(t *testing.T) {
	cfg := &config.Config{
		Listeners: []*config.Listener{{Name: "http-80", Address: ":80", Protocol: "http"}},
		Routes: []*config.Route{{Name: "r",
			Filters: []*config.Filter{{RequestHeaders: &config.HeaderFilter{Set: map[string]string{"X-Empty": "", "X-Zero": "0", "X-False": "false"}}}},
			Respond: &config.Respond{Status: 500}}},
	}
	y, err := Encode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"balance", "h2c", "timeout", "max_connections"} {
		if strings.Contains(string(y), bad) {
			t.Errorf("zero %s written:\n%s", bad, y)
		}
	}
	got, err := config.Parse("e.yaml", y)
	if err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	set := got.Routes[0].Filters[0].RequestHeaders.Set
	if v, ok := set["X-Empty"]; !ok || v != "" || set["X-Zero"] != "0" || set["X-False"] != "false" {
		t.Errorf("header values %q\n%s", set, y)
	}
}
