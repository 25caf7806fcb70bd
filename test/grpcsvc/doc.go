// Package grpcsvc is a real grpc-go server for the transcoding and
// gRPC-Web tests: the library.v1.Library service of proto/library/v1,
// whose google.api.http rules cover every HttpRule shape (path templates
// with multi-segment variables, body "*" and a field, response_body,
// additional_bindings, a custom verb and a custom method kind), the
// well-known types, errors with google.rpc details and every streaming
// kind, plus an unannotated method for auto_mapping.
//
// The Go code in librarypb is generated (gen.sh) and checked in, so the
// server builds without protoc; the descriptor set the gateway loads is
// built by protoc at test time (Descriptors), as an operator would build
// it, so the tests also prove that protoc's output loads.
package grpcsvc
