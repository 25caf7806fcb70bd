package config

import "testing"

const k8sBase = "listeners: [{name: a, address: \"127.0.0.1:1\"}]\n"

func TestKubernetesSection(t *testing.T) {
	c := mustParse(t, k8sBase+"kubernetes: {listen_host: 127.0.0.1, port_offset: 8000, controller_name: example.com/gw, ingress_class: edge}\n")
	if k := c.Kubernetes; k == nil || k.PortOffset != 8000 || k.ListenHost != "127.0.0.1" || k.ControllerName != "example.com/gw" || k.IngressClass != "edge" {
		t.Fatalf("kubernetes = %+v", c.Kubernetes)
	}
	wantErr(t, k8sBase+"kubernetes: {port_offset: -1}\n", "gatehouse.yaml:2: kubernetes: port_offset -1 is out of range (use 0..65000, such as 8000 to bind port 80 as 8080)")
	wantErr(t, k8sBase+"kubernetes: {port_offset: 65001}\n", "gatehouse.yaml:2: kubernetes: port_offset 65001 is out of range (use 0..65000, such as 8000 to bind port 80 as 8080)")
	wantErr(t, k8sBase+"kubernetes: {listen_host: \"a b\"}\n", `gatehouse.yaml:2: kubernetes: listen_host "a b" is not an address or host name (use an IP address such as 127.0.0.1, or a host name)`)
	wantErr(t, k8sBase+"kubernetes: {port_ofset: 1}\n", `gatehouse.yaml:2: unknown key "port_ofset" in kubernetes (did you mean "port_offset"?)`)
}
