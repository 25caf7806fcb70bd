//go:build tools

// Package tools pins kube-apiserver (k8s.io/kubernetes v1.37.2) for the
// live controller test. k8s.io/kubernetes is not meant as a library: its
// go.mod replaces the staging modules (k8s.io/api, client-go, …) with
// directories of its own repository, which a dependent module cannot see,
// so go.mod here replaces each one with its tagged release v0.37.2.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
