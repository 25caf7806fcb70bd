package grpcsvc

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// ProtoDir is the directory of the .proto files (the import root).
func ProtoDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "proto")
}

// Descriptors builds library.v1's FileDescriptorSet with protoc
// (--include_imports, as the transcoding documentation tells operators
// to) into a temporary directory and returns its path. Without protoc the
// test is skipped, unless GATEHOUSE_REQUIRE_PROTOC is set (CI), when it
// fails.
func Descriptors(t testing.TB) string {
	t.Helper()
	protoc, err := exec.LookPath("protoc")
	if err != nil {
		if os.Getenv("GATEHOUSE_REQUIRE_PROTOC") != "" {
			t.Fatal("protoc not found and GATEHOUSE_REQUIRE_PROTOC is set (install protobuf-compiler)")
		}
		t.Skip("protoc not found (install protobuf-compiler)")
	}
	out := filepath.Join(t.TempDir(), "library.pb")
	args := []string{"-I", ProtoDir(), "--include_imports", "-o", out, "library/v1/library.proto"}
	// Debian installs the well-known types beside protoc's headers; newer
	// protoc builds embed them, and a second -I to them is harmless.
	if _, err := os.Stat("/usr/include/google/protobuf/timestamp.proto"); err == nil {
		args = append([]string{"-I", "/usr/include"}, args...)
	}
	cmd := exec.Command(protoc, args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("protoc: %v\n%s", err, b)
	}
	return out
}
