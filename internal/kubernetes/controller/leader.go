package controller

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// elect takes part in the Lease election until ctx ends, campaigning
// again after losing the lease (every replica keeps serving; leadership
// only decides who writes status). On ctx's end the lease is released
// (ReleaseOnCancel), so another replica takes over within its retry
// period instead of waiting out the lease duration.
func (c *Controller) elect(ctx context.Context) {
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: c.cfg.LeaseNamespace, Name: c.cfg.LeaseName},
		Client:     c.kube.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: c.cfg.Identity},
	}
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			Name:            c.cfg.LeaseName,
			LeaseDuration:   c.cfg.LeaseDuration,
			RenewDeadline:   c.cfg.RenewDeadline,
			RetryPeriod:     c.cfg.RetryPeriod,
			ReleaseOnCancel: true,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(context.Context) {
					c.cfg.Log.Info("kubernetes: leading; writing status", "identity", c.cfg.Identity, "lease", c.cfg.LeaseNamespace+"/"+c.cfg.LeaseName)
					c.leading.Store(true)
					c.signal(c.promoted)
				},
				OnStoppedLeading: func() {
					c.leading.Store(false)
					c.cfg.Log.Info("kubernetes: not leading; status is left to the leader", "identity", c.cfg.Identity)
				},
			},
		})
		if err != nil {
			c.cfg.Log.Error("kubernetes: leader election disabled", "error", err.Error())
			return
		}
		le.Run(ctx)
	}
}
