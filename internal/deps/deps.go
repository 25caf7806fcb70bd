//go:build tools

// Package deps pins modules used by packages still being written; removed once they import them.
package deps

import (
	_ "go.yaml.in/yaml/v3"
	_ "github.com/fsnotify/fsnotify"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "google.golang.org/grpc"
	_ "google.golang.org/grpc/health/grpc_health_v1"
	_ "google.golang.org/protobuf/proto"
	_ "github.com/coder/websocket"
	_ "go.uber.org/goleak"
	_ "github.com/cespare/xxhash/v2"
)
