#!/usr/bin/env bash
# Regenerates librarypb from proto/ (protoc 3.21 from Debian's
# protobuf-compiler; the plugins from the Go module proxy at the versions
# below). Run after editing proto/library/v1/library.proto.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
GOBIN=$bin go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
GOBIN=$bin go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1
PATH=$bin:$PATH protoc -I proto -I /usr/include \
  --go_out=. --go_opt=module=github.com/gatehouse/gatehouse/test/grpcsvc \
  --go-grpc_out=. --go-grpc_opt=module=github.com/gatehouse/gatehouse/test/grpcsvc \
  library/v1/library.proto
