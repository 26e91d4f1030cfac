// What govmomi 0.24's simulator lacks, added as custom managed objects the way govmomi's own
// simulator/example_extend_test.go extends it: a host service system and a host access
// manager per host, graphics info, and a JSON "shape" for the model and single hosts.
package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// hostShape is the state one host starts in; zero values mean the defaults.
type hostShape struct {
	Connection  string   `json:"connection"`  // connected (default), disconnected, notResponding
	Maintenance bool     `json:"maintenance"` // runtime.inMaintenanceMode
	Power       string   `json:"power"`       // poweredOn (default), poweredOff, standBy, unknown
	GPU         *bool    `json:"gpu"`         // false: no GPU at all; true on a standalone host: A100
	SSHRunning  bool     `json:"sshRunning"`  // TSM-SSH running (default stopped)
	SSHPolicy   string   `json:"sshPolicy"`   // on, off (default), automatic
	Lockdown    string   `json:"lockdown"`    // lockdownDisabled (default), lockdownNormal, lockdownStrict
	Exceptions  []string `json:"exceptions"`  // lockdown exception users
}

// shape is the -shape flag: the model's size and the hosts that differ from the defaults.
type shape struct {
	Datacenters  int                  `json:"datacenters"`
	Clusters     int                  `json:"clusters"`     // per datacenter
	ClusterHosts int                  `json:"clusterHosts"` // per cluster
	Standalone   int                  `json:"standalone"`   // standalone hosts per datacenter
	Hosts        map[string]hostShape `json:"hosts"`        // by host name (DC0_C0_H0, DC0_H0)
	VMs          map[string]vmShape   `json:"vms"`          // by VM name (DC0_C0_RP0_VM0)
}

// vmShape changes one simulated VM: its BIOS UUID (to match a simulated ESXi host's
// `esxcli vm process list`), a vGPU profile, the host it runs on, its power state.
type vmShape struct {
	UUID  string `json:"uuid"`
	VGPU  string `json:"vgpu"`
	Host  string `json:"host"`
	Power string `json:"power"`
}

// shapeVMs applies the shape's per-VM state.
func shapeVMs(want shape) error {
	hosts := map[string]types.ManagedObjectReference{}
	for _, e := range simulator.Map.All("HostSystem") {
		hosts[e.Entity().Name] = e.Reference()
	}
	for name, vs := range want.VMs {
		vm := findVM(name)
		if vm == nil {
			return fmt.Errorf("-shape: no VM named %q", name)
		}
		if vs.UUID != "" {
			vm.Config.Uuid = vs.UUID
		}
		if vs.VGPU != "" {
			backing := &types.VirtualPCIPassthroughVmiopBackingInfo{Vgpu: vs.VGPU}
			device := &types.VirtualPCIPassthrough{VirtualDevice: types.VirtualDevice{
				Key: 13000, Backing: backing}}
			vm.Config.Hardware.Device = append(vm.Config.Hardware.Device, device)
		}
		if vs.Host != "" {
			ref, ok := hosts[vs.Host]
			if !ok {
				return fmt.Errorf("-shape: no host named %q (VM %s)", vs.Host, name)
			}
			vm.Runtime.Host = &ref
			vm.Summary.Runtime.Host = &ref
		}
		if vs.Power != "" {
			vm.Runtime.PowerState = types.VirtualMachinePowerState(vs.Power)
			vm.Summary.Runtime.PowerState = vm.Runtime.PowerState
		}
	}
	return nil
}

func parseShape(text string) (shape, error) {
	s := shape{Datacenters: 1, Clusters: 2, ClusterHosts: 2}
	if text == "" {
		return s, nil
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, fmt.Errorf("-shape: %v", err)
	}
	return s, nil
}

// hostServiceSystem is HostServiceSystem for one host.
type hostServiceSystem struct {
	mo.HostServiceSystem
	host *simulator.HostSystem
}

func (s *hostServiceSystem) service(id string) *types.HostService {
	for i := range s.ServiceInfo.Service {
		if s.ServiceInfo.Service[i].Key == id {
			return &s.ServiceInfo.Service[i]
		}
	}
	return nil
}

// check is the fault a real host gives: an unknown service, or a host vCenter cannot reach.
func (s *hostServiceSystem) check(id string) (*types.HostService, *soap.Fault) {
	if state := s.host.Runtime.ConnectionState; state != types.HostSystemConnectionStateConnected {
		return nil, simulator.Fault(fmt.Sprintf("host %s is %s", s.host.Name, state),
			&types.HostNotConnected{})
	}
	svc := s.service(id)
	if svc == nil {
		return nil, simulator.Fault(fmt.Sprintf("no service %q", id), &types.NotFound{})
	}
	return svc, nil
}

func (s *hostServiceSystem) StartService(req *types.StartService) soap.HasFault {
	body := &methods.StartServiceBody{}
	svc, fault := s.check(req.Id)
	if fault != nil {
		body.Fault_ = fault
		return body
	}
	svc.Running = true
	body.Res = new(types.StartServiceResponse)
	return body
}

func (s *hostServiceSystem) StopService(req *types.StopService) soap.HasFault {
	body := &methods.StopServiceBody{}
	svc, fault := s.check(req.Id)
	if fault != nil {
		body.Fault_ = fault
		return body
	}
	svc.Running = false
	body.Res = new(types.StopServiceResponse)
	return body
}

func (s *hostServiceSystem) UpdateServicePolicy(req *types.UpdateServicePolicy) soap.HasFault {
	body := &methods.UpdateServicePolicyBody{}
	svc, fault := s.check(req.Id)
	if fault != nil {
		body.Fault_ = fault
		return body
	}
	switch types.HostServicePolicy(req.Policy) {
	case types.HostServicePolicyOn, types.HostServicePolicyOff, types.HostServicePolicyAutomatic:
		svc.Policy = req.Policy
		body.Res = new(types.UpdateServicePolicyResponse)
	default:
		body.Fault_ = simulator.Fault("", &types.InvalidArgument{InvalidProperty: "policy"})
	}
	return body
}

func (s *hostServiceSystem) RefreshServices(*types.RefreshServices) soap.HasFault {
	return &methods.RefreshServicesBody{Res: new(types.RefreshServicesResponse)}
}

// hostAccessManager is HostAccessManager for one host: lockdown mode and exception users.
type hostAccessManager struct {
	mo.HostAccessManager
	host       *simulator.HostSystem
	exceptions []string
}

func (m *hostAccessManager) QueryLockdownExceptions(*types.QueryLockdownExceptions) soap.HasFault {
	users := append([]string(nil), m.exceptions...)
	return &methods.QueryLockdownExceptionsBody{
		Res: &types.QueryLockdownExceptionsResponse{Returnval: users},
	}
}

// UpdateLockdownExceptions and ChangeLockdownMode are here for the tests' hands; the bot
// never calls them.
func (m *hostAccessManager) UpdateLockdownExceptions(req *types.UpdateLockdownExceptions) soap.HasFault {
	m.exceptions = append([]string(nil), req.Users...)
	return &methods.UpdateLockdownExceptionsBody{Res: new(types.UpdateLockdownExceptionsResponse)}
}

func (m *hostAccessManager) ChangeLockdownMode(req *types.ChangeLockdownMode) soap.HasFault {
	body := &methods.ChangeLockdownModeBody{}
	switch req.Mode {
	case types.HostLockdownModeLockdownDisabled, types.HostLockdownModeLockdownNormal,
		types.HostLockdownModeLockdownStrict:
		m.LockdownMode = req.Mode
		m.host.Config.LockdownMode = req.Mode
		body.Res = new(types.ChangeLockdownModeResponse)
	default:
		body.Fault_ = simulator.Fault("", &types.InvalidArgument{InvalidProperty: "mode"})
	}
	return body
}

func defaultServices() []types.HostService {
	return []types.HostService{
		{Key: "DCUI", Label: "Direct Console UI", Running: true, Policy: "on"},
		{Key: "TSM", Label: "ESXi Shell", Policy: "off"},
		{Key: "TSM-SSH", Label: "SSH", Policy: "off", Ruleset: []string{"sshServer"}},
		{Key: "ntpd", Label: "NTP Daemon", Policy: "off", Ruleset: []string{"ntpClient"}},
	}
}

// setGPUs gives a host these vGPU profiles and one GPU in its graphics info (none: no GPU).
func setGPUs(host *simulator.HostSystem, profiles []string) {
	host.Config.SharedPassthruGpuTypes = profiles
	host.Config.GraphicsInfo = nil
	if len(profiles) == 0 {
		return
	}
	model := "A100"
	if strings.Contains(profiles[0], "l40s") {
		model = "L40S"
	}
	host.Config.GraphicsInfo = []types.HostGraphicsInfo{{
		DeviceName:     "NVIDIA " + model,
		VendorName:     "NVIDIA Corporation",
		PciId:          "0000:3b:00.0",
		GraphicsType:   "sharedDirect",
		MemorySizeInKB: 48 * 1024 * 1024,
	}}
}

// extendHosts adds the service system and access manager to every host, then applies the
// per-host state of the shape.
func extendHosts(want shape) error {
	names := map[string]bool{}
	for _, e := range simulator.Map.All("HostSystem") {
		host := e.(*simulator.HostSystem)
		names[host.Name] = true
		hs := want.Hosts[host.Name]

		services := &hostServiceSystem{host: host}
		services.Self.Type = "HostServiceSystem" // Put would name it after the Go type
		services.ServiceInfo.Service = defaultServices()
		ssh := services.service("TSM-SSH")
		ssh.Running = hs.SSHRunning
		if hs.SSHPolicy != "" {
			ssh.Policy = hs.SSHPolicy
		}
		servicesRef := simulator.Map.Put(services).Reference()
		host.ConfigManager.ServiceSystem = &servicesRef

		access := &hostAccessManager{host: host, exceptions: hs.Exceptions}
		access.Self.Type = "HostAccessManager"
		access.LockdownMode = types.HostLockdownModeLockdownDisabled
		if hs.Lockdown != "" {
			access.LockdownMode = types.HostLockdownMode(hs.Lockdown)
		}
		host.Config.LockdownMode = access.LockdownMode
		accessRef := simulator.Map.Put(access).Reference()
		host.ConfigManager.HostAccessManager = &accessRef

		if hs.Connection != "" {
			host.Runtime.ConnectionState = types.HostSystemConnectionState(hs.Connection)
		}
		host.Runtime.InMaintenanceMode = hs.Maintenance
		if hs.Power != "" {
			host.Runtime.PowerState = types.HostSystemPowerState(hs.Power)
		}
		if hs.GPU != nil {
			if !*hs.GPU {
				setGPUs(host, nil)
			} else if len(host.Config.SharedPassthruGpuTypes) == 0 {
				setGPUs(host, profilesFor(""))
			}
		}
	}
	for name := range want.Hosts {
		if !names[name] {
			return fmt.Errorf("-shape: no host named %q", name)
		}
	}
	return nil
}
