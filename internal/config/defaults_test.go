package config

import (
	"testing"
	"time"
)

func TestDefaultsApplied(t *testing.T) {
	cert, key := testCert(t)
	c := mustParse(t, `listeners:
  - name: public
    address: 127.0.0.1:8080
  - name: secure
    address: 127.0.0.1:8443
    protocol: https
    tls: {certificates: [{cert_file: `+cert+`, key_file: `+key+`}]}
upstreams:
  - name: u
    targets: [{url: "http://10.0.0.1"}]
routes:
  - name: r
    backend: {upstream: u}
  - name: ok
    respond: {}
  - name: moved
    redirect: {path: /new}
`)
	pub, sec := c.Listeners[0], c.Listeners[1]
	if pub.Protocol != "http" || pub.HTTP2 || pub.MaxHeaderBytes != 64<<10 ||
		pub.Timeouts != (ServerTimeouts{ReadHeader: 10 * time.Second, Idle: 120 * time.Second}) {
		t.Errorf("http listener defaults: %+v", pub)
	}
	if !sec.HTTP2 || sec.TLS.MinVersion != "1.2" {
		t.Errorf("https listener defaults: http2=%v min=%q", sec.HTTP2, sec.TLS.MinVersion)
	}
	if c.Admin != nil || !c.AccessLog.Enabled || c.AccessLog.Path != "stdout" || c.Log.Level != "info" ||
		c.Shutdown.GracePeriod != 30*time.Second || !c.Reload.Watch || c.Runtime.GCPercent != 400 {
		t.Errorf("global defaults: admin=%v %+v %+v %+v %+v %+v", c.Admin, c.AccessLog, c.Log, c.Shutdown, c.Reload, c.Runtime)
	}
	u := c.Upstreams[0]
	if u.Balance != "round_robin" || u.Protocol != "auto" || u.ConnectTimeout != 5*time.Second ||
		u.IdleTimeout != 90*time.Second || u.ResponseHeaderTimeout != 0 || u.MaxIdlePerTarget != 512 {
		t.Errorf("upstream defaults: %+v", u)
	}
	if tg := u.Targets[0]; tg.Weight != 1 || tg.URL != "http://10.0.0.1:80" {
		t.Errorf("target defaults: %+v", tg)
	}
	if c.Routes[0].Timeout != 60*time.Second || c.Routes[1].Respond.Status != 200 || c.Routes[2].Redirect.Status != 302 {
		t.Errorf("route defaults: timeout=%v status=%d redirect=%d", c.Routes[0].Timeout, c.Routes[1].Respond.Status, c.Routes[2].Redirect.Status)
	}
	if len(c.Files) != 1 || c.Files[0] != "gatehouse.yaml" {
		t.Errorf("Files = %v", c.Files)
	}
}

func TestExplicitZeroKept(t *testing.T) {
	// An explicit 0 or false is a choice, not a request for the default.
	c := mustParse(t, `listeners:
  - name: public
    address: 127.0.0.1:8080
    timeouts: {read_header: 0, idle: 0}
access_log: {enabled: false}
shutdown: {grace_period: 0}
reload: {watch: false}
runtime: {gc_percent: 0}
upstreams:
  - name: u
    connect_timeout: 0
    idle_timeout: 0
    max_idle_per_target: 0
    targets: [{url: "http://a:1", weight: 0}, {url: "http://b:1"}]
routes:
  - name: r
    backend: {upstream: u}
    timeout: 0
`)
	l := c.Listeners[0]
	if l.Timeouts.ReadHeader != 0 || l.Timeouts.Idle != 0 || c.AccessLog.Enabled || c.Shutdown.GracePeriod != 0 ||
		c.Reload.Watch || c.Runtime.GCPercent != 0 {
		t.Errorf("explicit zero replaced: %+v %+v %+v %+v %+v", l.Timeouts, c.AccessLog, c.Shutdown, c.Reload, c.Runtime)
	}
	u := c.Upstreams[0]
	if u.ConnectTimeout != 0 || u.IdleTimeout != 0 || u.MaxIdlePerTarget != 0 || u.Targets[0].Weight != 0 || u.Targets[1].Weight != 1 {
		t.Errorf("upstream explicit zero replaced: %+v %+v", u, u.Targets[0])
	}
	if c.Routes[0].Timeout != 0 {
		t.Errorf("route timeout = %v, want 0", c.Routes[0].Timeout)
	}
}
