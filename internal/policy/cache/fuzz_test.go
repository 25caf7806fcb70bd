package cache

import (
	"net/http"
	"testing"
)

func FuzzParseCacheControl(f *testing.F) {
	for _, s := range []string{
		"max-age=60", `no-cache="Set-Cookie, X"`, "s-maxage=1, stale-while-revalidate=2, stale-if-error=3",
		`x="\"`, "max-age=99999999999999999999999", ",,=,", "private, no-store, must-revalidate",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := parseCacheControl([]string{s})
		for _, v := range []int64{d.maxAge, d.sMaxAge, d.staleWhileRevalidate, d.staleIfError} {
			if v < -1 || v > maxDelta {
				t.Fatalf("%q: value %d out of range", s, v)
			}
		}
		// Splitting one line into two field lines at a top-level comma
		// is the same header (RFC 9110 §5.3); appending a line can only
		// add directives, never clear one the first line set.
		d2 := parseCacheControl([]string{s, "max-age=1"})
		if d.noStore && !d2.noStore || d.maxAge >= 0 && d2.maxAge != d.maxAge {
			t.Fatalf("%q: second line changed the first line's directives", s)
		}
	})
}

func FuzzDecodeRecord(f *testing.F) {
	e := &entry{status: 200, fields: storedFields(http.Header{"A": {"b", "c"}, "Etag": {`"x"`}}, nil), body: []byte("body")}
	f.Add(encodeEntry(e))
	f.Add(encodeVaryIndex([]string{"Accept"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, vary, err := decodeRecord(b)
		if err != nil {
			return
		}
		if e != nil {
			// Whatever decodes re-encodes to something that decodes the same.
			e2, _, err := decodeRecord(encodeEntry(e))
			if err != nil || e2.status != e.status || len(e2.fields) != len(e.fields) || string(e2.body) != string(e.body) {
				t.Fatalf("re-encode mismatch: %v", err)
			}
		} else if len(vary) == 0 {
			t.Fatal("empty vary index decoded")
		}
	})
}

func FuzzAppendQuery(f *testing.F) {
	for _, s := range []string{"b=2&a=1", "a=%zz&+=%20", "&&=&", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		out := string(appendQuery(nil, q))
		// Canonical: normalising again changes nothing, and it never
		// holds a byte that would end the URL part of a key.
		if again := string(appendQuery(nil, out)); again != out {
			t.Fatalf("%q → %q → %q", q, out, again)
		}
		for i := 0; i < len(out); i++ {
			if out[i] <= ' ' || out[i] >= 0x7f || out[i] == '?' {
				t.Fatalf("%q → %q has byte %q", q, out, out[i])
			}
		}
	})
}
