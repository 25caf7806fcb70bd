package translate

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"sync"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/redis/go-redis/v9"
)

// RedisClient builds a go-redis UniversalClient: standalone, Cluster or
// Sentinel depending on the addresses and master name.
func RedisClient(c *config.RedisStore) (redis.UniversalClient, error) {
	quietOnce.Do(func() { redis.SetLogger(quietRedis{}) })
	o := &redis.UniversalOptions{
		Addrs: c.Addrs, MasterName: c.MasterName, Username: c.Username, Password: c.Password, DB: c.DB,
		PoolSize: c.PoolSize, DialTimeout: c.Timeout * 10, ReadTimeout: c.Timeout, WriteTimeout: c.Timeout,
		// Callers' deadlines (tens of milliseconds) bound every call.
		ContextTimeoutEnabled: true,
		// Requests carry their own deadlines; a pool wait must not exceed them.
		PoolTimeout: c.Timeout * 2,
	}
	if t := c.TLS; t != nil {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
		if t.CAFile != "" {
			pem, err := os.ReadFile(t.CAFile)
			if err != nil {
				return nil, err
			}
			tc.RootCAs = x509.NewCertPool()
			tc.RootCAs.AppendCertsFromPEM(pem)
		}
		o.TLSConfig = tc
	}
	return redis.NewUniversalClient(o), nil
}

// quietOnce silences go-redis's own logger, which writes every failed
// dial to stderr; the limit policies log store failures themselves,
// rate-limited. Done when the first client is built, not in init, so
// importing the package has no side effect.
var quietOnce sync.Once

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}
