package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/component-base/version"
	"k8s.io/utils/ptr"
)

var metav1GetOptions = metav1.GetOptions{}

const leaseSeconds = 40

// nodeAgent stands in for the kubelets: it registers Ready Nodes and renews their Leases, and
// plays the container runtime for pods bound to them: Running and Ready at once (no images are
// pulled, no processes run; pod IPs are fake), and a pod being deleted is
// removed for good (grace period 0), as a kubelet does once its containers stopped.
type nodeAgent struct {
	client *kubernetes.Clientset
	nodes  map[string]bool
	mu     sync.Mutex
	nextIP int
	ips    map[types.UID]string
}

func newNodeAgent(client *kubernetes.Clientset, n int) *nodeAgent {
	a := &nodeAgent{client: client, nodes: map[string]bool{}, ips: map[types.UID]string{}}
	for i := 1; i <= n; i++ {
		a.nodes[fmt.Sprintf("node-%d", i)] = true
	}
	return a
}

func (a *nodeAgent) registerNodes(ctx context.Context) error {
	for name := range a.nodes {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			"kubernetes.io/hostname": name,
			"kubernetes.io/os":       "linux",
			"kubernetes.io/arch":     "amd64",
		}}}
		created, err := a.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		created.Status = nodeStatus(name)
		if _, err := a.client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			return err
		}
		// kube-node-lease may not exist yet this early; the heartbeat retries every 10s.
		if err := a.renewLease(ctx, created); err != nil {
			logf("node agent: lease %s: %v (will retry)", name, err)
		}
	}
	return nil
}

// nodeStatus is what a healthy kubelet reports: Ready, room for many pods and GPUs (Dynamo's
// workers request nvidia.com/gpu, so the scheduler must find some).
func nodeStatus(name string) corev1.NodeStatus {
	now := metav1.Now()
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("64"),
		corev1.ResourceMemory:           resource.MustParse("512Gi"),
		corev1.ResourcePods:             resource.MustParse("250"),
		corev1.ResourceEphemeralStorage: resource.MustParse("1Ti"),
		"nvidia.com/gpu":                resource.MustParse("8"),
	}
	cond := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	return corev1.NodeStatus{
		Capacity:    capacity,
		Allocatable: capacity,
		Phase:       corev1.NodeRunning,
		Conditions: []corev1.NodeCondition{
			cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory"),
			cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure"),
			cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID"),
			cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady"),
		},
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: "127.0.0.1"},
			{Type: corev1.NodeHostName, Address: name},
		},
		NodeInfo: corev1.NodeSystemInfo{
			KubeletVersion:          version.Get().GitVersion,
			ContainerRuntimeVersion: "fake://control-plane",
			OperatingSystem:         "linux",
			Architecture:            "amd64",
		},
	}
}

// renewLease keeps the node's heartbeat in kube-node-lease, which the node lifecycle
// controller reads; without it the nodes turn NotReady and their pods are evicted.
func (a *nodeAgent) renewLease(ctx context.Context, node *corev1.Node) error {
	leases := a.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	lease, err := leases.Get(ctx, node.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: node.Name, OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID,
			}}},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       ptr.To(node.Name),
				LeaseDurationSeconds: ptr.To[int32](leaseSeconds),
				RenewTime:            &now,
			},
		}, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	lease.Spec.RenewTime = &now
	_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	return err
}

// heartbeat renews the leases every 10s and the Ready condition every minute, and lifts the
// not-ready taint admission puts on new nodes (the node lifecycle controller would, later).
func (a *nodeAgent) heartbeat(ctx context.Context) {
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	beats := 0
	for {
		for name := range a.nodes {
			node, err := a.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				logf("node agent: %s: %v", name, err)
				continue
			}
			if err := a.renewLease(ctx, node); err != nil {
				logf("node agent: lease %s: %v", name, err)
			}
			if beats%6 == 0 {
				node.Status.Conditions = nodeStatus(name).Conditions
				if _, err := a.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
					logf("node agent: status %s: %v", name, err)
				}
			}
			var taints []corev1.Taint
			for _, t := range node.Spec.Taints {
				if t.Key != corev1.TaintNodeNotReady {
					taints = append(taints, t)
				}
			}
			if len(taints) != len(node.Spec.Taints) {
				if fresh, err := a.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{}); err == nil {
					fresh.Spec.Taints = taints
					_, _ = a.client.CoreV1().Nodes().Update(ctx, fresh, metav1.UpdateOptions{})
				}
			}
		}
		beats++
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// run drives pods on the agent's nodes until ctx ends.
func (a *nodeAgent) run(ctx context.Context) {
	go a.heartbeat(ctx)
	factory := informers.NewSharedInformerFactory(a.client, 0)
	pods := factory.Core().V1().Pods()
	queue := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			queue.Add(key)
		}
	}
	_, _ = pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	})
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	go func() { <-ctx.Done(); queue.ShutDown() }()
	for range 4 {
		go func() {
			for {
				key, quit := queue.Get()
				if quit {
					return
				}
				if err := a.sync(ctx, pods.Lister(), key); err != nil {
					queue.AddRateLimited(key)
				} else {
					queue.Forget(key)
				}
				queue.Done(key)
			}
		}()
	}
	<-ctx.Done()
}

// sync brings one pod to where a kubelet would: finished if it is being deleted, Running and
// Ready otherwise. Pods on other nodes, or not bound yet, are not the agent's.
func (a *nodeAgent) sync(ctx context.Context, lister listersv1.PodLister, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pod, err := lister.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !a.nodes[pod.Spec.NodeName] {
		return nil
	}
	pods := a.client.CoreV1().Pods(ns)
	if pod.DeletionTimestamp != nil {
		err := pods.Delete(ctx, name, metav1.DeleteOptions{
			GracePeriodSeconds: ptr.To[int64](0),
			Preconditions:      &metav1.Preconditions{UID: &pod.UID},
		})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		return err
	}
	if running(pod) {
		return nil
	}
	updated := pod.DeepCopy()
	updated.Status = a.runningStatus(pod)
	_, err = pods.UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func running(pod *corev1.Pod) bool {
	if pod.Status.Phase != corev1.PodRunning || pod.Status.PodIP == "" {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podIP hands out fake addresses from 10.244.0.0/16, one per pod, stable for the pod's life.
// Not loopback: the API server rejects loopback addresses in EndpointSlices, which the
// endpoint-slice controller builds from pod IPs. Nothing dials them.
func (a *nodeAgent) podIP(uid types.UID) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ip, ok := a.ips[uid]; ok {
		return ip
	}
	n := a.nextIP
	a.nextIP++
	ip := fmt.Sprintf("10.244.%d.%d", (n/250)%256, n%250+1)
	a.ips[uid] = ip
	return ip
}

func (a *nodeAgent) runningStatus(pod *corev1.Pod) corev1.PodStatus {
	now := metav1.Now()
	ip := a.podIP(pod.UID)
	status := pod.Status
	status.Phase = corev1.PodRunning
	status.HostIP = "127.0.0.1"
	status.HostIPs = []corev1.HostIP{{IP: "127.0.0.1"}}
	status.PodIP = ip
	status.PodIPs = []corev1.PodIP{{IP: ip}}
	if status.StartTime == nil {
		status.StartTime = &now
	}
	setCond := func(t corev1.PodConditionType) {
		for i := range status.Conditions {
			if status.Conditions[i].Type == t {
				if status.Conditions[i].Status != corev1.ConditionTrue {
					status.Conditions[i].Status = corev1.ConditionTrue
					status.Conditions[i].LastTransitionTime = now
					status.Conditions[i].Reason, status.Conditions[i].Message = "", ""
				}
				return
			}
		}
		status.Conditions = append(status.Conditions, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now})
	}
	for _, t := range []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.PodScheduled, corev1.ContainersReady, corev1.PodReady} {
		setCond(t)
	}
	status.InitContainerStatuses = nil
	for _, c := range pod.Spec.InitContainers {
		status.InitContainerStatuses = append(status.InitContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: "fake://" + c.Image,
			ContainerID: fmt.Sprintf("fake://%s/%s", pod.UID, c.Name),
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 0, Reason: "Completed", StartedAt: now, FinishedAt: now,
			}},
			Ready: true,
		})
	}
	status.ContainerStatuses = nil
	for _, c := range pod.Spec.Containers {
		status.ContainerStatuses = append(status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: "fake://" + c.Image,
			ContainerID: fmt.Sprintf("fake://%s/%s", pod.UID, c.Name),
			State:       corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
			Ready:       true,
			Started:     ptr.To(true),
		})
	}
	return status
}

// leaseHeld is nil once a leader-election Lease has a holder renewed within its duration.
func leaseHeld(ctx context.Context, client *kubernetes.Clientset, ns, name string) error {
	lease, err := client.CoordinationV1().Leases(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	spec := lease.Spec
	if spec.HolderIdentity == nil || *spec.HolderIdentity == "" || spec.RenewTime == nil || spec.LeaseDurationSeconds == nil {
		return fmt.Errorf("lease %s/%s has no holder", ns, name)
	}
	if time.Since(spec.RenewTime.Time) > time.Duration(*spec.LeaseDurationSeconds)*time.Second {
		return fmt.Errorf("lease %s/%s expired", ns, name)
	}
	return nil
}

// smokeRollout proves the whole chain before READY: a Deployment in its own namespace becomes
// available (controller-manager made the ReplicaSet and pod, the scheduler bound it, the agent
// ran it); the namespace is then deleted in the background.
func smokeRollout(ctx context.Context, client *kubernetes.Clientset, wait func(time.Duration, string, func() error) error) error {
	const ns = "control-plane-smoke"
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	labels := map[string]string{"app": "smoke"}
	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "smoke"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "smoke", Image: "smoke:1"}}},
			},
		},
	}
	if err := wait(60*time.Second, "default ServiceAccount in "+ns, func() error {
		_, err := client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err
	}); err != nil {
		return err
	}
	if _, err := client.AppsV1().Deployments(ns).Create(ctx, deploy, metav1.CreateOptions{}); err != nil {
		return err
	}
	if err := wait(120*time.Second, "smoke Deployment rollout", func() error {
		d, err := client.AppsV1().Deployments(ns).Get(ctx, "smoke", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if d.Status.AvailableReplicas != 1 || d.Status.UpdatedReplicas != 1 {
			return fmt.Errorf("available %d/1", d.Status.AvailableReplicas)
		}
		return nil
	}); err != nil {
		return err
	}
	return client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
}
