// Command pulumi-resource-docker is the Docker resource provider plugin that
// the program's @pulumi/docker SDK talks to, built here from its two public
// parts because the module proxy does not serve the plugin's own source: the
// upstream Terraform provider (kreuzwerker/terraform-provider-docker) behind
// pulumi-terraform-bridge, which is how the published plugin is made too.
// tools/install/docker-provider.sh pins the versions.
//
// The resource tokens are those of @pulumi/docker 5.2.0. Property names come
// from the bridge's own Terraform-to-Pulumi naming (snake_case to camelCase,
// lists pluralised), with the overrides below where the SDK differs from it.
//
//	pulumi-resource-docker              serves the plugin (the engine starts it)
//	pulumi-resource-docker fields       prints, as JSON, every Pulumi property
//	                                    path each mapped resource accepts, so a
//	                                    test can prove that nothing the program
//	                                    sets is silently dropped
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	shim "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	dockerprovider "github.com/terraform-providers/terraform-provider-docker/internal/provider"
)

// The SDK release whose tokens and version this plugin answers to; the engine
// looks the plugin up by this version.
const sdkVersion = "5.2.0"

func providerInfo() tfbridge.ProviderInfo {
	// The version string is what the upstream provider reports to Docker in its User-Agent.
	upstream := shimv2.NewProvider(dockerprovider.New(sdkVersion)())
	return tfbridge.ProviderInfo{
		P:       upstream,
		Name:    "docker",
		Version: sdkVersion,
		Config: map[string]*tfbridge.SchemaInfo{
			"host": {Default: &tfbridge.DefaultInfo{Value: "unix:///var/run/docker.sock", EnvVars: []string{"DOCKER_HOST"}}},
			// A list in Terraform, but the SDK keeps the singular name.
			"registry_auth": {Name: "registryAuth", MaxItemsOne: tfbridge.False()},
		},
		Resources: map[string]*tfbridge.ResourceInfo{
			"docker_container": {
				Tok: "docker:index/container:Container",
				// A container has a fixed name, so Docker refuses a second one
				// beside the old: the old one must go first.
				DeleteBeforeReplace: true,
				Fields: map[string]*tfbridge.SchemaInfo{
					// One command made of several words, not several commands.
					"command": {Name: "command"},
					"networks_advanced": {Name: "networksAdvanced"},
				},
			},
			"docker_image":   {Tok: "docker:index/remoteImage:RemoteImage", Fields: map[string]*tfbridge.SchemaInfo{"name": {Name: "name"}}},
			"docker_network": {Tok: "docker:index/network:Network"},
			"docker_volume":  {Tok: "docker:index/volume:Volume"},
		},
	}
}

// fieldPaths lists every Pulumi property path of a schema, nested blocks as "parent.child".
func fieldPaths(prefix string, schemaMap shim.SchemaMap, infos map[string]*tfbridge.SchemaInfo, out map[string]bool) {
	schemaMap.Range(func(key string, value shim.Schema) bool {
		name := tfbridge.TerraformToPulumiNameV2(key, schemaMap, infos)
		path := prefix + name
		out[path] = true
		var nestedInfos map[string]*tfbridge.SchemaInfo
		if info := infos[key]; info != nil {
			nestedInfos = info.Fields
			if info.Elem != nil && info.Elem.Fields != nil {
				nestedInfos = info.Elem.Fields
			}
		}
		if resource, ok := value.Elem().(shim.Resource); ok {
			fieldPaths(path+".", resource.Schema(), nestedInfos, out)
		}
		return true
	})
}

func printFields(info tfbridge.ProviderInfo) error {
	result := map[string][]string{}
	collect := func(token string, schemaMap shim.SchemaMap, infos map[string]*tfbridge.SchemaInfo) {
		paths := map[string]bool{}
		fieldPaths("", schemaMap, infos, paths)
		for path := range paths {
			result[token] = append(result[token], path)
		}
		sort.Strings(result[token])
	}
	collect("pulumi:providers:docker", info.P.Schema(), info.Config)
	for name, resource := range info.Resources {
		schema, ok := info.P.ResourcesMap().GetOk(name)
		if !ok {
			return fmt.Errorf("the upstream provider has no resource %s", name)
		}
		collect(string(resource.Tok), schema.Schema(), resource.Fields)
	}
	encoded, err := json.MarshalIndent(result, "", "  ")
	if err != nil {
		return err
	}
	fmt.Println(string(encoded))
	return nil
}

func main() {
	info := providerInfo()
	if len(os.Args) == 2 && os.Args[1] == "fields" {
		if err := printFields(info); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	// The package schema is only read by SDK generators, never by a deploy.
	schema, err := json.Marshal(map[string]string{"name": "docker", "version": sdkVersion})
	if err != nil {
		panic(err)
	}
	tfbridge.Main("docker", sdkVersion, info, schema)
}
