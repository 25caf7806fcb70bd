package jsonxform

import (
	"fmt"
	"strings"
	"testing"
)

// sample returns a JSON object of about size bytes: a user and a list
// of items.
func sample(size int) []byte {
	var b strings.Builder
	b.WriteString(`{"id":12345,"user":{"name":"ann","email":"ann@example.com","password":"secret"},"items":[`)
	for i := 0; b.Len() < size-40; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"tag":"t%d","price":%d.5,"internal":true}`, i, i%7, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func BenchmarkApplyBytes(b *testing.B) {
	tr, err := New(Config{
		Allow:  []string{"id", "user", "items.*.id", "items.*.tag", "items.*.price"},
		Rename: map[string]string{"user.name": "user.display_name"},
		Remove: []string{"user.password"},
		Set:    []Assign{{Path: "version", Value: "v2"}, {Path: "user.verified", Value: true}},
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{1 << 10, 100 << 10} {
		in := sample(size)
		b.Run(fmt.Sprintf("%dKB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tr.ApplyBytes(in, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkJQ(b *testing.B) {
	tr, err := New(Config{JQ: `{id, name: .user.name, tags: [.items[].tag]}`})
	if err != nil {
		b.Fatal(err)
	}
	in := sample(1 << 10)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tr.ApplyBytes(in, nil); err != nil {
			b.Fatal(err)
		}
	}
}
