package translate

import (
	"encoding/json"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

func TestComposeShape(t *testing.T) {
	in := `{"data":{"id":1,"name":"n","password":"p","address":{"city":"c","zip":"z"},"list":[{"a":1,"b":2}]}}`
	cases := []struct {
		step config.ComposeStep
		in   string
		want string
	}{
		{config.ComposeStep{Target: "data", Allow: []string{"id", "address.city"}}, in, `{"address":{"city":"c"},"id":1}`},
		{config.ComposeStep{Target: "data", Deny: []string{"password", "address.zip", "list"}, Mapping: map[string]string{"name": "full_name", "address.city": "town"}}, in,
			`{"address":{},"full_name":"n","id":1,"town":"c"}`},
		{config.ComposeStep{Target: "data.list", Allow: []string{"a"}}, in, `[{"a":1}]`},
		{config.ComposeStep{Target: "nope"}, in, `null`},
		{config.ComposeStep{Allow: []string{"x"}}, `[1,{"x":2,"y":3}]`, `[1,{"x":2}]`},
	}
	for _, c := range cases {
		var v any
		json.Unmarshal([]byte(c.in), &v)
		out, err := composeShape(&c.step)(v)
		b, _ := json.Marshal(out)
		if err != nil || string(b) != c.want {
			t.Errorf("%+v: got %s %v, want %s", c.step, b, err, c.want)
		}
	}
	if composeShape(&config.ComposeStep{}) != nil {
		t.Error("no shaping should be nil")
	}
}
