package config

import (
	"slices"
	"testing"
)

// TestUpstreamSubjectAltNames: DNS names (wildcards too) and absolute
// URIs are kept; anything else, too many entries, or the combination with
// insecure_skip_verify is refused with file:line.
func TestUpstreamSubjectAltNames(t *testing.T) {
	up := func(tls string) string {
		return minimal + "upstreams:\n  - name: u\n    targets: [{url: \"https://a\"}]\n    tls: " + tls + "\n"
	}
	c := mustParse(t, up(`{subject_alt_names: [api.internal, "*.svc.internal", "spiffe://cluster.local/ns/a/sa/b"]}`))
	if got := c.Upstreams[0].TLS.SubjectAltNames; !slices.Equal(got, []string{"api.internal", "*.svc.internal", "spiffe://cluster.local/ns/a/sa/b"}) {
		t.Errorf("subject_alt_names %v", got)
	}
	cases := []struct{ name, tls, want string }{
		{"bad name", `{subject_alt_names: ["a b"]}`, `gatehouse.yaml:7: upstream "u": subject_alt_names entry "a b" is not a DNS name (write a DNS name such as api.internal or *.internal)`},
		{"bad uri", `{subject_alt_names: ["spiffe:"]}`, `gatehouse.yaml:7: upstream "u": subject_alt_names entry "spiffe:" is not an absolute URI (write an absolute URI such as spiffe://cluster.local/ns/app/sa/web)`},
		{"insecure", `{insecure_skip_verify: true, subject_alt_names: [a.internal]}`, `gatehouse.yaml:7: upstream "u": subject_alt_names cannot be checked with insecure_skip_verify (remove insecure_skip_verify or subject_alt_names)`},
		{"too many", `{subject_alt_names: [a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q]}`, `gatehouse.yaml:7: upstream "u": subject_alt_names has 17 entries, at most 16 are allowed (list the names the target's certificate may carry)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, up(c.tls), c.want) })
	}
}
