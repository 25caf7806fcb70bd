package config

import "github.com/gatehouse/gatehouse/internal/filter"

const defaultBodyMaxBytes = filter.DefaultBodyMaxBytes

// bodyDefaults fills a filter's body transforms.
func bodyDefaults(f *Filter, given func(any) bool) {
	for _, b := range []*BodyTransform{f.RequestBody, f.ResponseBody} {
		if b != nil && !given(&b.MaxBytes) {
			b.MaxBytes = defaultBodyMaxBytes
		}
	}
}
