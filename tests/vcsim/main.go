// vcsim-aio: govmomi's vCenter simulator with the shape aio-bot's tests need.
//
// Built by tests/vcsim_helpers.py in GOPATH mode against Debian's
// golang-github-vmware-govmomi-dev. It prints one line per fact on stdout:
//
//	URL https://USER:PASSWORD@127.0.0.1:PORT/sdk   (user and password URL-escaped)
//	CERT /path/to/cert.pem            (the server certificate, PEM; -cert flag)
//	READY
//
// and serves until stdin closes or it gets SIGTERM/SIGINT.
//
// The model: one datacenter, two clusters of two hosts, VMs in each cluster. Hosts of
// cluster C0 offer A100 vGPU profiles, of C1 L40S (config.sharedPassthruGpuTypes, and one
// GPU in config.graphicsInfo); standalone hosts have no GPU. vCenter's advanced setting
// vgpu.hotmigrate.enabled is "true" unless -hotmigrate=false. The VM named by
// -hang-relocate answers RelocateVM_Task with a task that never ends (to test task
// deadlines).
//
// What govmomi 0.24's simulator lacks is added here (extend.go): every host gets a host
// service system (serviceInfo with TSM-SSH, stopped, policy "off"; StartService,
// StopService, UpdateServicePolicy) and a host access manager (lockdownMode, exception
// users; QueryLockdownExceptions, and ChangeLockdownMode / UpdateLockdownExceptions for the
// tests' own hands). -shape takes JSON to change the model and single hosts (see shape).
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// hungVM wraps a simulated VM: its relocate task stays "running" forever.
// The VM is embedded by value: the property collector digs through embedded structs (not
// pointers) to find the mo.VirtualMachine, so container views keep working.
type hungVM struct {
	simulator.VirtualMachine
}

func (vm *hungVM) RelocateVMTask(ctx *simulator.Context, req *types.RelocateVM_Task) soap.HasFault {
	task := simulator.CreateTask(vm, "relocateVm", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		return nil, nil
	})
	simulator.Map.Update(task, []types.PropertyChange{
		{Name: "info.startTime", Val: time.Now()},
		{Name: "info.state", Val: types.TaskInfoStateRunning},
	})
	return &methods.RelocateVM_TaskBody{
		Res: &types.RelocateVM_TaskResponse{Returnval: task.Self},
	}
}

// searchIndex adds FindAllByUuid, which govmomi 0.24's simulator lacks (it has FindByUuid
// only), with vCenter's meaning: every VM whose BIOS (or instance) UUID matches.
type searchIndex struct {
	simulator.SearchIndex
}

func (s *searchIndex) FindAllByUuid(req *types.FindAllByUuid) soap.HasFault {
	body := &methods.FindAllByUuidBody{Res: new(types.FindAllByUuidResponse)}
	for _, e := range simulator.Map.All("VirtualMachine") {
		var config *types.VirtualMachineConfigInfo
		switch vm := e.(type) {
		case *simulator.VirtualMachine:
			config = vm.Config
		case *hungVM:
			config = vm.Config
		}
		if config == nil || !req.VmSearch {
			continue
		}
		id := config.Uuid
		if req.InstanceUuid != nil && *req.InstanceUuid {
			id = config.InstanceUuid
		}
		if strings.EqualFold(id, req.Uuid) {
			body.Res.Returnval = append(body.Res.Returnval, e.Reference())
		}
	}
	return body
}

// selfSigned makes a fresh P-256 certificate for 127.0.0.1 and localhost (the simulator's
// built-in one is RSA-1024, which OpenSSL's default security level rejects).
func selfSigned() (tls.Certificate, []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "vcsim-aio", Organization: []string{"aio-bot tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pemBytes
}

// profilesFor is what the hosts of a cluster offer: L40S in every datacenter's C1, else A100.
func profilesFor(cluster string) []string {
	if strings.HasSuffix(cluster, "_C1") {
		return []string{"grid_l40s-4q", "grid_l40s-8q", "grid_l40s-12q"}
	}
	return []string{"grid_a100-4c", "grid_a100-8c", "grid_a100-10c"}
}

// shapeHosts gives every cluster host the vGPU profiles of its cluster and one GPU.
func shapeHosts() {
	for _, e := range simulator.Map.All("HostSystem") {
		host := e.(*simulator.HostSystem)
		parent, ok := simulator.Map.Get(*host.Parent).(*simulator.ClusterComputeResource)
		if !ok {
			continue // a standalone host: no GPU
		}
		setGPUs(host, profilesFor(parent.Name))
	}
}

// findVM is the simulated VM with this name, or nil.
func findVM(name string) *simulator.VirtualMachine {
	for _, e := range simulator.Map.All("VirtualMachine") {
		if e.Entity().Name == name {
			return e.(*simulator.VirtualMachine)
		}
	}
	return nil
}

func main() {
	certPath := flag.String("cert", "", "write the server certificate (PEM) to this file")
	hotmigrate := flag.Bool("hotmigrate", true, "value of vgpu.hotmigrate.enabled")
	hang := flag.String("hang-relocate", "", "name of a VM whose relocate task never ends")
	user := flag.String("user", "aio-bot@vsphere.local", "the only user that may log in")
	password := flag.String("password", "vcsim-Pa55word!", "its password")
	shapeJSON := flag.String("shape", "", "JSON: datacenters, clusters, clusterHosts, "+
		"standalone, and per-host state under hosts (see type shape)")
	flag.Parse()
	want, err := parseShape(*shapeJSON)
	if err != nil {
		log.Fatal(err)
	}

	model := simulator.VPX()
	model.Datacenter = want.Datacenters
	model.Host = want.Standalone
	model.Cluster = want.Clusters
	model.ClusterHost = want.ClusterHosts
	model.Machine = 3
	if err := model.Create(); err != nil {
		log.Fatal(err)
	}
	defer model.Remove()
	shapeHosts()
	if err := extendHosts(want); err != nil {
		log.Fatal(err)
	}
	if err := shapeVMs(want); err != nil {
		log.Fatal(err)
	}
	simulator.Map.OptionManager().Setting = append(simulator.Map.OptionManager().Setting,
		&types.OptionValue{Key: "vgpu.hotmigrate.enabled", Value: fmt.Sprint(*hotmigrate)})
	index := simulator.Map.Get(*model.ServiceContent.SearchIndex).(*simulator.SearchIndex)
	simulator.Map.Put(&searchIndex{*index}) //nolint:govet // copied before the server starts
	if *hang != "" {
		vm := findVM(*hang)
		if vm == nil {
			log.Fatalf("no VM named %q", *hang)
		}
		simulator.Map.Put(&hungVM{*vm}) //nolint:govet // copied before the server starts
	}

	cert, certPEM := selfSigned()
	model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	model.Service.Listen = &url.URL{Host: "127.0.0.1:0", User: url.UserPassword(*user, *password)}
	server := model.Service.NewServer()
	defer server.Close()

	fmt.Printf("URL %s\n", server.URL.String())
	if *certPath != "" {
		if err := os.WriteFile(*certPath, certPEM, 0o644); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("CERT %s\n", *certPath)
	}
	fmt.Println("READY")

	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-done:
	case <-sig:
	}
}
