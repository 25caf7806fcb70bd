package gatewayapi

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/gateway-api/conformance"
	"sigs.k8s.io/gateway-api/conformance/tests"
	confconfig "sigs.k8s.io/gateway-api/conformance/utils/config"
	"sigs.k8s.io/gateway-api/conformance/utils/roundtripper"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
	"sigs.k8s.io/gateway-api/pkg/features"

	"github.com/gatehouse/gatehouse/internal/kubernetes"
)

// gatewayClassName is the GatewayClass the suite's Gateways use; it is
// installed with Gatehouse's default controller name, as a cluster
// operator would.
const gatewayClassName = "gatehouse"

// envAll runs the tests listed in expectedFailures too (a report run:
// the package then fails, since they do).
const envAll = "GATEHOUSE_CONFORMANCE_ALL"

// envRun, a regular expression, runs only the tests whose short name it
// matches (for working on a few tests).
const envRun = "GATEHOUSE_CONFORMANCE_RUN"

// profiles are the conformance profiles this harness runs.
var profiles = []suite.ConformanceProfile{suite.GatewayHTTPConformanceProfile, suite.GatewayGRPCConformanceProfile}

// timeouts are the suite's, shortened for a controller that reconciles
// in milliseconds but still generous for a loaded two-core CI machine
// (max); three consecutive successes are still required. A report run
// (envAll) passes 10s: the expected failures then fail sooner.
func timeouts(max time.Duration) confconfig.TimeoutConfig {
	tc := confconfig.DefaultTimeoutConfig()
	tc.DefaultPollInterval = 50 * time.Millisecond
	tc.RequiredConsecutiveSuccesses = 3
	for _, d := range []*time.Duration{
		&tc.CreateTimeout, &tc.GatewayMustHaveAddress, &tc.GatewayMustHaveCondition,
		&tc.GatewayStatusMustHaveListeners, &tc.GatewayListenersMustHaveConditions,
		&tc.ListenerSetMustHaveCondition, &tc.ListenerSetListenersMustHaveConditions,
		&tc.GWCMustBeAccepted, &tc.HTTPRouteMustNotHaveParents, &tc.HTTPRouteMustHaveCondition,
		&tc.TLSRouteMustHaveCondition, &tc.TCPRouteMustHaveCondition, &tc.UDPRouteMustHaveCondition,
		&tc.RouteMustHaveParents, &tc.MaxTimeToConsistency, &tc.NamespacesMustBeReady,
		&tc.LatestObservedGenerationSet, &tc.DefaultTestTimeout,
	} {
		*d = min(*d, max)
	}
	return tc
}

// inProfile reports whether the suite counts test under profile (every
// feature it needs is one of the profile's, as the suite's
// getConformanceProfilesForTest decides: a test without features is in
// every profile), and whether as an extended test.
func inProfile(profile suite.ConformanceProfile, test suite.ConformanceTest) (in, extended bool) {
	for _, f := range test.Features {
		switch {
		case profile.CoreFeatures.Has(f):
		case profile.ExtendedFeatures.Has(f):
			extended = true
		default:
			return false, false
		}
	}
	return true, extended
}

// outcome of one test.
type outcome string

const (
	passed  outcome = "pass"
	failed  outcome = "FAIL"
	skipped outcome = "skip"  // expected to fail: not run (see expectedFailures)
	xfailed outcome = "xfail" // expected to fail, run under envAll, failed
	xpassed outcome = "XPASS" // expected to fail but passed: update the list
)

type result struct {
	test    suite.ConformanceTest
	outcome outcome
	reason  string
	elapsed time.Duration
}

func TestGatewayAPIConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("the Gateway API conformance run takes about a minute")
	}
	runAll := os.Getenv(envAll) != ""
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	cl, err := newCluster()
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.installCRDs(ctx); err != nil {
		t.Fatal(err)
	}
	gc := &gwv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: gatewayClassName},
		Spec:       gwv1.GatewayClassSpec{ControllerName: kubernetes.DefaultControllerName},
	}
	if err := cl.Create(ctx, gc); err != nil {
		t.Fatal(err)
	}
	ctrl, err := newController(cl, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { ctrl.run(ctx) })
	defer func() {
		cancel()
		wg.Wait()
		ctrl.stop()
	}()

	only := regexp.MustCompile(os.Getenv(envRun))
	var selected []suite.ConformanceTest
	for _, test := range tests.ConformanceTests {
		if !only.MatchString(test.ShortName) {
			continue
		}
		if slices.ContainsFunc(profiles, func(p suite.ConformanceProfile) bool { in, _ := inProfile(p, test); return in }) {
			selected = append(selected, test)
		}
	}
	supported := sets.New[features.FeatureName]()
	var profileNames []suite.ConformanceProfileName
	for _, p := range profiles {
		supported.Insert(p.CoreFeatures.UnsortedList()...)
		supported.Insert(p.ExtendedFeatures.UnsortedList()...)
		profileNames = append(profileNames, p.Name)
	}

	logs, err := startLogServer(ctrl.kubelet)
	if err != nil {
		t.Fatal(err)
	}
	defer logs.close()
	clientset, restConfig, err := logs.clientset()
	if err != nil {
		t.Fatal(err)
	}

	tc := timeouts(30 * time.Second)
	if runAll {
		tc = timeouts(10 * time.Second)
	}
	cs, err := suite.NewConformanceTestSuite(suite.ConformanceOptions{
		ConfigurableOptions: suite.ConfigurableOptions{
			GatewayClassName:     gatewayClassName,
			CleanupBaseResources: false, // the fake cluster goes away with the test
			CleanupTestResources: true,
			SupportedFeatures:    supported.UnsortedList(),
			ConformanceProfiles:  profileNames,
			TimeoutConfig:        tc,
			DisableParallelTests: true,
		},
		Client:          cl,
		Clientset:       clientset,
		RestConfig:      restConfig,
		RoundTripper:    &roundTripper{roundtripper.DefaultRoundTripper{TimeoutConfig: tc, CustomDialContext: dialGateway}},
		GRPCClient:      grpcClient{},
		WebSocketDialer: wsDialer{},
		ManifestFS:      []fs.FS{&conformance.Manifests},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("Setup", func(t *testing.T) { cs.Setup(t, selected) })
	if t.Failed() {
		t.Fatalf("setup failed; translator errors: %s", strings.Join(ctrl.translationErrors(), "\n"))
	}

	var results []result
	for _, test := range selected {
		r := result{test: test}
		reason, xfail := expectedFailures[test.ShortName]
		if xfail && !runAll {
			r.outcome, r.reason = skipped, reason
			t.Run(test.ShortName, func(t *testing.T) { t.Skip("expected to fail: " + reason) })
			results = append(results, r)
			continue
		}
		start := time.Now()
		ok := t.Run(test.ShortName, func(t *testing.T) { test.Run(t, cs) })
		r.elapsed = time.Since(start)
		switch {
		case ok && !xfail:
			r.outcome = passed
		case ok:
			r.outcome, r.reason = xpassed, reason
		case xfail:
			r.outcome, r.reason = xfailed, reason
		default:
			r.outcome = failed
		}
		results = append(results, r)
	}
	report(t, results)
}

// report prints one line per test and the counts per profile section,
// as the suite's ConformanceReport groups them: core, and per extended
// feature of the profile (a test needing several counts under each).
func report(t *testing.T, results []result) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nGateway API conformance v1.6.3\n")
	for _, r := range results {
		var in []string
		for _, p := range profiles {
			if ok, ext := inProfile(p, r.test); ok {
				kind := "core"
				if ext {
					kind = "extended"
				}
				in = append(in, strings.TrimPrefix(string(p.Name), "GATEWAY-")+"-"+kind)
			}
		}
		fmt.Fprintf(&b, "  %-6s %-60s %-28s %6.1fs %s\n", r.outcome, r.test.ShortName, strings.Join(in, ","), r.elapsed.Seconds(), r.reason)
	}
	count := func(keep func(result) bool) string {
		n := map[outcome]int{}
		total := 0
		for _, r := range results {
			if keep(r) {
				n[r.outcome]++
				total++
			}
		}
		s := fmt.Sprintf("%d tests: %d passed, %d failed, %d skipped (expected to fail)", total, n[passed], n[failed], n[skipped])
		if n[xfailed]+n[xpassed] > 0 {
			s += fmt.Sprintf(", %d expected failures failed, %d expected failures passed", n[xfailed], n[xpassed])
		}
		return s
	}
	for _, p := range profiles {
		member := func(extended bool) func(result) bool {
			return func(r result) bool { in, ext := inProfile(p, r.test); return in && ext == extended }
		}
		fmt.Fprintf(&b, "COUNT %s core: %s\n", p.Name, count(member(false)))
		fmt.Fprintf(&b, "COUNT %s extended: %s\n", p.Name, count(member(true)))
		ext := p.ExtendedFeatures.UnsortedList()
		sort.Slice(ext, func(i, j int) bool { return ext[i] < ext[j] })
		for _, f := range ext {
			has := func(r result) bool {
				in, _ := inProfile(p, r.test)
				return in && slices.Contains(r.test.Features, f)
			}
			if slices.ContainsFunc(results, has) {
				fmt.Fprintf(&b, "COUNT %s extended %s: %s\n", p.Name, f, count(has))
			}
		}
	}
	fmt.Fprintf(&b, "COUNT all: %s\n", count(func(result) bool { return true }))
	for gw, why := range readinessExclusions {
		fmt.Fprintf(&b, "setup does not wait for Gateway %s: %s\n", gw, why)
	}
	t.Log(b.String())
	fmt.Print(b.String())
}
