// Command librarysvc serves the library.v1.Library test service (package
// grpcsvc) on -addr over h2c, with server reflection: the upstream of the
// transcoding benchmark (bench/grpc.sh) and of manual runs.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/gatehouse/gatehouse/test/grpcsvc"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "listen address")
	flag.Parse()
	s, stop, err := grpcsvc.Listen(*addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "librarysvc:", err)
		os.Exit(1)
	}
	fmt.Println("librarysvc: listening on", s.Addr)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	stop()
}
