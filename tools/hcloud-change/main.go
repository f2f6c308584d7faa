// Command hcloud-change answers, with the Hetzner Cloud provider's own code,
// what a change to an hcloud resource does: which attributes force a
// replacement, whether a planned change is an update or a replacement, and
// which API calls the update makes.
//
// It runs the upstream Terraform provider that @pulumi/hcloud bridges
// (github.com/hetznercloud/terraform-provider-hcloud), through the same shim
// of pulumi-terraform-bridge and the same fork of terraform-plugin-sdk that
// the Pulumi plugin is built with; tools/install/hcloud-change.sh pins the
// versions. The bridge turns a Terraform diff whose attributes require a new
// resource into a Pulumi replace, and any other diff into an update.
//
//	hcloud-change schema <type>...  the attributes of each resource type, with ForceNew
//	hcloud-change plan  < request   the diff from a prior config to a new one
//	hcloud-change apply < request   the same diff, applied to a server by a fake API on 127.0.0.1
//
// A request is JSON: {"type", "prior", "config", "ignoreChanges"}, with
// "prior" and "config" in Terraform attribute names. The prior state is the
// state the provider plans for "prior" on create (unknown values left unset).
// The provider is configured with a dummy token and an endpoint on 127.0.0.1:
// planning must not call the API, and the calls it makes are in the answer.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	hcloudprovider "github.com/hetznercloud/terraform-provider-hcloud/hcloud"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/rawstate"
	shim "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
)

// How the SDK marks a value that is unknown until apply (hcl2shim.UnknownVariableValue).
const unknownValue = "74D93920-ED26-11E3-AC10-0800200C9A66"

// The id the prior state and the fake API give the resource.
const resourceID = 42

type request struct {
	Type          string         `json:"type"`
	Prior         map[string]any `json:"prior"`
	Config        map[string]any `json:"config"`
	IgnoreChanges []string       `json:"ignoreChanges"`
}

type attributeSchema struct {
	Type     string `json:"type"`
	Required bool   `json:"required"`
	Optional bool   `json:"optional"`
	Computed bool   `json:"computed"`
	ForceNew bool   `json:"forceNew"`
}

type resourceSchema struct {
	Attributes map[string]attributeSchema `json:"attributes"`
	HasUpdate  bool                       `json:"hasUpdate"`
}

type attributeDiff struct {
	Old         string `json:"old"`
	New         string `json:"new"`
	NewComputed bool   `json:"newComputed,omitempty"`
	NewRemoved  bool   `json:"newRemoved,omitempty"`
	RequiresNew bool   `json:"requiresNew"`
}

type planAnswer struct {
	// Replace is the bridge's decision: a Pulumi replace instead of an update.
	Replace bool `json:"replace"`
	// Changed is false when the provider plans no change at all.
	Changed    bool                     `json:"changed"`
	Attributes map[string]attributeDiff `json:"attributes"`
	// The API calls made while planning: none are expected.
	Requests []apiRequest `json:"requests"`
}

type applyAnswer struct {
	Plan     planAnswer     `json:"plan"`
	Requests []apiRequest   `json:"requests"`
	State    map[string]any `json:"state,omitempty"`
	Error    string         `json:"error,omitempty"`
}

func main() {
	if len(os.Args) < 2 {
		fail(errors.New("usage: hcloud-change schema <type>... | plan < request | apply < request"))
	}
	var answer any
	var err error
	switch os.Args[1] {
	case "schema":
		answer, err = schemas(os.Args[2:])
	case "plan":
		answer, err = withRequest(func(req request) (any, error) {
			api := newFakeAPI(req)
			defer api.close()
			_, _, plan, err := planChange(context.Background(), api, req)
			return plan, err
		})
	case "apply":
		answer, err = withRequest(func(req request) (any, error) {
			api := newFakeAPI(req)
			defer api.close()
			return applyChange(context.Background(), api, req)
		})
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
	out := json.NewEncoder(os.Stdout)
	out.SetIndent("", "  ")
	if err := out.Encode(answer); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "hcloud-change:", err)
	os.Exit(1)
}

func withRequest(run func(request) (any, error)) (any, error) {
	var req request
	decoder := json.NewDecoder(os.Stdin)
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&req); err != nil {
		return nil, fmt.Errorf("reading the request from stdin: %w", err)
	}
	if hcloudprovider.Provider().ResourcesMap[req.Type] == nil {
		return nil, fmt.Errorf("the provider has no resource type %q", req.Type)
	}
	return run(req)
}

func schemas(types []string) (map[string]resourceSchema, error) {
	resources := hcloudprovider.Provider().ResourcesMap
	answer := map[string]resourceSchema{}
	for _, name := range types {
		res := resources[name]
		if res == nil {
			return nil, fmt.Errorf("the provider has no resource type %q", name)
		}
		attributes := map[string]attributeSchema{}
		collectAttributes("", res.SchemaMap(), attributes)
		answer[name] = resourceSchema{
			Attributes: attributes,
			HasUpdate:  res.UpdateContext != nil || res.UpdateWithoutTimeout != nil || res.Update != nil, //nolint:staticcheck // Update is the SDK's legacy field
		}
	}
	return answer, nil
}

// collectAttributes flattens nested blocks into "block.attribute" names.
func collectAttributes(prefix string, fields map[string]*schema.Schema, into map[string]attributeSchema) {
	for name, field := range fields {
		into[prefix+name] = attributeSchema{
			Type:     field.Type.String(),
			Required: field.Required,
			Optional: field.Optional,
			Computed: field.Computed,
			ForceNew: field.ForceNew,
		}
		if block, ok := field.Elem.(*schema.Resource); ok {
			collectAttributes(prefix+name+".", block.SchemaMap(), into)
		}
	}
}

// configuredProvider is the provider as the bridge wraps it, configured
// against the fake API.
func configuredProvider(ctx context.Context, api *fakeAPI) (shim.Provider, error) {
	provider := shimv2.NewProvider(hcloudprovider.Provider())
	config := provider.NewProviderConfig(ctx, map[string]any{
		// The provider only checks the token's length (64) before using it.
		"token":         strings.Repeat("0", 64),
		"endpoint":      api.server.URL,
		"poll_interval": "5ms",
		"poll_function": "constant",
	})
	if err := provider.Configure(ctx, config); err != nil {
		return nil, fmt.Errorf("configuring the provider: %w", err)
	}
	return provider, nil
}

// priorState is the state the provider plans for config on create, with the
// id set and the values only known after apply left unset.
func priorState(ctx context.Context, provider shim.Provider, resourceType string, config map[string]any) (shim.InstanceState, error) {
	create, err := provider.Diff(ctx, resourceType, nil, provider.NewResourceConfig(ctx, config), shim.DiffOptions{})
	if err != nil {
		return nil, fmt.Errorf("planning the prior config: %w", err)
	}
	res := provider.ResourcesMap().Get(resourceType)
	planned, err := create.ProposedState(res, nil)
	if err != nil {
		return nil, err
	}
	object, err := planned.Object(res.Schema())
	if err != nil {
		return nil, err
	}
	object = withoutUnknowns(object).(map[string]any)
	object["id"] = strconv.Itoa(resourceID)
	raw, err := json.Marshal(object)
	if err != nil {
		return nil, err
	}
	upgrader, ok := provider.(shim.ProviderWithRawStateSupport)
	if !ok {
		return nil, errors.New("the bridge's provider does not read raw state")
	}
	return upgrader.UpgradeState(ctx, resourceType, rawstate.RawState(raw), nil)
}

func withoutUnknowns(value any) any {
	switch v := value.(type) {
	case string:
		if v == unknownValue {
			return nil
		}
	case map[string]any:
		out := map[string]any{}
		for key, item := range v {
			out[key] = withoutUnknowns(item)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			out[i] = withoutUnknowns(item)
		}
		return out
	}
	return value
}

func planChange(ctx context.Context, api *fakeAPI, req request) (shim.Provider, shim.InstanceState, planAnswer, error) {
	provider, err := configuredProvider(ctx, api)
	if err != nil {
		return nil, nil, planAnswer{}, err
	}
	state, err := priorState(ctx, provider, req.Type, req.Prior)
	if err != nil {
		return nil, nil, planAnswer{}, err
	}
	ignored := map[string]struct{}{}
	for _, path := range req.IgnoreChanges {
		ignored[path] = struct{}{}
	}
	diff, err := provider.Diff(ctx, req.Type, state, provider.NewResourceConfig(ctx, req.Config), shim.DiffOptions{
		IgnoreChanges: func() map[string]struct{} { return ignored },
	})
	if err != nil {
		return nil, nil, planAnswer{}, fmt.Errorf("planning the change: %w", err)
	}
	answer := planAnswer{Replace: diff.RequiresNew(), Attributes: map[string]attributeDiff{}, Requests: api.takeRequests()}
	if withAttributes, ok := diff.(interface {
		Attributes() map[string]shim.ResourceAttrDiff
	}); ok {
		for key, attr := range withAttributes.Attributes() {
			answer.Attributes[key] = attributeDiff{Old: attr.Old, New: attr.New, NewComputed: attr.NewComputed, NewRemoved: attr.NewRemoved, RequiresNew: attr.RequiresNew}
		}
	}
	// The bridge's own rule (tfbridge.Provider.Diff): the provider's decision
	// when it makes one, otherwise any attribute difference is a change.
	switch diff.DiffEqualDecisionOverride() {
	case shim.DiffOverrideNoUpdate:
		answer.Changed = false
	case shim.DiffOverrideUpdate:
		answer.Changed = true
	default:
		answer.Changed = !diff.HasNoChanges()
	}
	api.lastDiff = diff
	return provider, state, answer, nil
}

func applyChange(ctx context.Context, api *fakeAPI, req request) (applyAnswer, error) {
	if req.Type != "hcloud_server" {
		return applyAnswer{}, fmt.Errorf("apply fakes the API of hcloud_server only, not %s", req.Type)
	}
	provider, state, plan, err := planChange(ctx, api, req)
	if err != nil {
		return applyAnswer{}, err
	}
	answer := applyAnswer{Plan: plan}
	newState, err := provider.Apply(ctx, req.Type, state, api.lastDiff)
	answer.Requests = api.takeRequests()
	if err != nil {
		answer.Error = err.Error()
		return answer, nil
	}
	if newState != nil {
		object, err := newState.Object(provider.ResourcesMap().Get(req.Type).Schema())
		if err != nil {
			return answer, err
		}
		answer.State = object
	}
	return answer, nil
}

// apiRequest is one call the provider made to the API.
type apiRequest struct {
	Method string         `json:"method"`
	Path   string         `json:"path"`
	Query  string         `json:"query,omitempty"`
	Body   map[string]any `json:"body,omitempty"`
}

// fakeAPI answers the Hetzner Cloud API calls that updating a server makes,
// for one server (id 42) that starts as the prior config describes it and
// running. It follows the API's documented rule that the type can only
// change while the server is off. Anything else is answered 404 and recorded.
type fakeAPI struct {
	server   *httptest.Server
	mu       sync.Mutex
	requests []apiRequest
	state    fakeServer
	actions  map[int64]string
	lastDiff shim.InstanceDiff
}

type fakeServer struct {
	name, status, serverType, location, image string
	labels                                    map[string]any
	deleteProtection, rebuildProtection       bool
	firewallIDs                               []int64
}

var serverPath = regexp.MustCompile(`^/servers/(\d+)(/actions/([a-z_]+))?$`)

func newFakeAPI(req request) *fakeAPI {
	api := &fakeAPI{actions: map[int64]string{}}
	prior := req.Prior
	api.state = fakeServer{
		name:              stringOf(prior["name"]),
		status:            "running",
		serverType:        stringOf(prior["server_type"]),
		location:          stringOf(prior["location"]),
		image:             stringOf(prior["image"]),
		deleteProtection:  prior["delete_protection"] == true,
		rebuildProtection: prior["rebuild_protection"] == true,
	}
	if labels, ok := prior["labels"].(map[string]any); ok {
		api.state.labels = labels
	}
	if ids, ok := prior["firewall_ids"].([]any); ok {
		for _, id := range ids {
			if n, ok := id.(float64); ok {
				api.state.firewallIDs = append(api.state.firewallIDs, int64(n))
			}
		}
	}
	// httptest listens on 127.0.0.1 only.
	api.server = httptest.NewServer(http.HandlerFunc(api.handle))
	return api
}

func stringOf(value any) string {
	s, _ := value.(string)
	return s
}

func (api *fakeAPI) close() { api.server.Close() }

func (api *fakeAPI) takeRequests() []apiRequest {
	api.mu.Lock()
	defer api.mu.Unlock()
	taken := api.requests
	api.requests = nil
	if taken == nil {
		taken = []apiRequest{}
	}
	return taken
}

func (api *fakeAPI) handle(w http.ResponseWriter, r *http.Request) {
	api.mu.Lock()
	defer api.mu.Unlock()
	recorded := apiRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery}
	if body, _ := io.ReadAll(r.Body); len(body) > 0 {
		_ = json.Unmarshal(body, &recorded.Body)
	}
	api.requests = append(api.requests, recorded)

	if r.Method == http.MethodGet && r.URL.Path == "/actions" {
		var actions []map[string]any
		for _, raw := range r.URL.Query()["id"] {
			id, _ := strconv.ParseInt(raw, 10, 64)
			if command, ok := api.actions[id]; ok {
				actions = append(actions, action(id, command, "success"))
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"actions": actions, "meta": map[string]any{"pagination": map[string]any{"page": 1, "per_page": 50, "last_page": 1, "total_entries": len(actions)}}})
		return
	}
	match := serverPath.FindStringSubmatch(r.URL.Path)
	if match == nil || match[1] != strconv.Itoa(resourceID) {
		writeError(w, http.StatusNotFound, "not_found", "the fake API does not know "+r.Method+" "+r.URL.Path)
		return
	}
	switch {
	case r.Method == http.MethodGet && match[2] == "":
		writeJSON(w, http.StatusOK, map[string]any{"server": api.serverObject()})
	case r.Method == http.MethodPost && match[3] == "poweroff":
		api.state.status = "off"
		writeJSON(w, http.StatusCreated, map[string]any{"action": api.startAction("stop_server")})
	case r.Method == http.MethodPost && match[3] == "poweron":
		api.state.status = "running"
		writeJSON(w, http.StatusCreated, map[string]any{"action": api.startAction("start_server")})
	case r.Method == http.MethodPost && match[3] == "change_type":
		if api.state.status != "off" {
			writeError(w, http.StatusConflict, "server_not_stopped", "the server must be powered off to change its type")
			return
		}
		if name, ok := recorded.Body["server_type"].(string); ok {
			api.state.serverType = name
		}
		writeJSON(w, http.StatusCreated, map[string]any{"action": api.startAction("change_server_type")})
	default:
		writeError(w, http.StatusNotFound, "not_found", "the fake API does not know "+r.Method+" "+r.URL.Path)
	}
}

func (api *fakeAPI) startAction(command string) map[string]any {
	id := int64(len(api.actions) + 1)
	api.actions[id] = command
	return action(id, command, "running")
}

func action(id int64, command, status string) map[string]any {
	started := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	a := map[string]any{
		"id": id, "command": command, "status": status, "progress": 0, "started": started, "finished": nil, "error": nil,
		"resources": []map[string]any{{"id": resourceID, "type": "server"}},
	}
	if status == "success" {
		a["progress"] = 100
		a["finished"] = started.Add(time.Second)
	}
	return a
}

func (api *fakeAPI) serverObject() map[string]any {
	s := api.state
	firewalls := []map[string]any{}
	for _, id := range s.firewallIDs {
		firewalls = append(firewalls, map[string]any{"id": id, "status": "applied"})
	}
	location := map[string]any{"id": 1, "name": s.location, "network_zone": "eu-central"}
	labels := s.labels
	if labels == nil {
		labels = map[string]any{}
	}
	return map[string]any{
		"id": resourceID, "name": s.name, "status": s.status, "created": "2025-01-01T00:00:00Z",
		"public_net": map[string]any{
			"ipv4":         map[string]any{"id": 1, "ip": "203.0.113.42", "blocked": false, "dns_ptr": "static.example"},
			"ipv6":         map[string]any{"id": 2, "ip": "2001:db8::/64", "blocked": false, "dns_ptr": []any{}},
			"floating_ips": []any{}, "firewalls": firewalls,
		},
		"private_net": []any{},
		"server_type": map[string]any{"id": 1, "name": s.serverType, "architecture": "x86", "storage_type": "local"},
		"location":    location,
		"datacenter":  map[string]any{"id": 1, "name": s.location + "-dc1", "location": location},
		"image":       map[string]any{"id": 1, "name": s.image, "type": "system", "status": "available", "os_flavor": "ubuntu", "architecture": "x86"},
		"protection":  map[string]any{"delete": s.deleteProtection, "rebuild": s.rebuildProtection},
		"labels":      labels, "volumes": []any{}, "load_balancers": []any{}, "primary_disk_size": 160,
		"backup_window": nil, "iso": nil, "placement_group": nil, "rescue_enabled": false, "locked": false, "included_traffic": 0,
	}
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": message, "details": nil}})
}
