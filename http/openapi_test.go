package http

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/auditlog/auditlog"
	"go.yaml.in/yaml/v3"
)

// The OpenAPI document describes exactly the route table: the same
// (method, path) pairs, each operation with an operationId, a response and
// every path parameter declared.
func TestOpenAPI_MatchesRoutes(t *testing.T) {
	doc := mustParseOpenAPI(t)

	documented := map[string]apiOperation{}
	for path, item := range doc.Paths {
		for method, op := range item.operations(t, path) {
			documented[method+" "+path] = op
		}
	}
	routed := map[string]bool{}
	for _, rt := range (&Server{}).routes() {
		key, err := routeKey(rt.pattern)
		if err != nil {
			t.Error(err)
			continue
		}
		if !isAPIRoute(key) {
			continue // the web viewer's page and assets are not API
		}
		routed[key] = true
	}

	var onlyDoc, onlyRoutes []string
	for key := range documented {
		if !routed[key] {
			onlyDoc = append(onlyDoc, key)
		}
	}
	for key := range routed {
		if _, ok := documented[key]; !ok {
			onlyRoutes = append(onlyRoutes, key)
		}
	}
	sort.Strings(onlyDoc)
	sort.Strings(onlyRoutes)
	for _, key := range onlyDoc {
		t.Errorf("documented in openapi.yaml but not in the route table: %s", key)
	}
	for _, key := range onlyRoutes {
		t.Errorf("in the route table but not documented in openapi.yaml: %s", key)
	}

	ids := map[string]string{}
	for key, op := range documented {
		if op.OperationID == "" {
			t.Errorf("%s: no operationId", key)
		} else if other, dup := ids[op.OperationID]; dup {
			t.Errorf("%s: operationId %q is also used by %s", key, op.OperationID, other)
		} else {
			ids[op.OperationID] = key
		}
		if len(op.Responses) == 0 {
			t.Errorf("%s: no responses", key)
		}
		path := key[strings.IndexByte(key, ' ')+1:]
		declared := map[string]bool{}
		for _, p := range append(slices.Clone(doc.Paths[path].Parameters), op.Parameters...) {
			p = doc.resolveParameter(t, p)
			if p.In == "path" {
				if !p.Required {
					t.Errorf("%s: path parameter %q must be required", key, p.Name)
				}
				declared[p.Name] = true
			}
		}
		for _, name := range pathParams(path) {
			if !declared[name] {
				t.Errorf("%s: path parameter {%s} is not declared", key, name)
			}
		}
	}
}

// Every local $ref of the document resolves.
func TestOpenAPI_RefsResolve(t *testing.T) {
	var root yaml.Node
	if err := yaml.Unmarshal(OpenAPI, &root); err != nil {
		t.Fatal(err)
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if k, v := n.Content[i], n.Content[i+1]; k.Value == "$ref" {
					if lookupRef(root.Content[0], v.Value) == nil {
						t.Errorf("line %d: $ref %q does not resolve", v.Line, v.Value)
					}
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&root)
}

// The document's error names are errorStatus's, and the fixed messages of
// authentication and authorization appear in its examples as the server sends them.
func TestOpenAPI_Errors(t *testing.T) {
	doc := mustParseOpenAPI(t)

	var want []string
	for _, st := range errorStatus {
		want = append(want, st.name)
	}
	got := slices.Clone(doc.Components.Schemas.ApiError.Properties.Error.Enum)
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("ApiError.error enum = %v, want the names of errorStatus %v", got, want)
	}

	examples := map[string]string{} // message -> error name, of every ApiError example
	var root yaml.Node
	if err := yaml.Unmarshal(OpenAPI, &root); err != nil {
		t.Fatal(err)
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			var ex struct {
				Error   string   `yaml:"error"`
				Message string   `yaml:"message"`
				Actions []string `yaml:"actions"`
				Code    string   `yaml:"code"`
			}
			if err := n.Decode(&ex); err == nil && ex.Error != "" && ex.Message != "" && ex.Actions != nil {
				examples[ex.Message] = ex.Error
				if !slices.Contains(want, ex.Error) {
					t.Errorf("line %d: example error %q is not a name of errorStatus", n.Line, ex.Error)
				}
				if (ex.Error == "Unauthorized") != (ex.Code == "Unauthorized") {
					t.Errorf("line %d: example code %q: a 401, and only a 401, has code Unauthorized", n.Line, ex.Code)
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&root)

	for _, err := range []error{errNoCredential, errNoAdmin, errAdminOnly, errAdminReads, errNoOrgAccess, errRole, errPlan, errNoRoute} {
		msg, name := auditlog.ErrorMessage(err), errorStatus[auditlog.ErrorCode(err)].name
		if got, ok := examples[msg]; !ok {
			t.Errorf("no example in openapi.yaml has the message %q", msg)
		} else if got != name {
			t.Errorf("the example with message %q has error %q, want %q", msg, got, name)
		}
	}
}

type apiDoc struct {
	Paths      map[string]apiPathItem `yaml:"paths"`
	Components struct {
		Parameters map[string]apiParameter `yaml:"parameters"`
		Schemas    struct {
			ApiError struct {
				Properties struct {
					Error struct {
						Enum []string `yaml:"enum"`
					} `yaml:"error"`
				} `yaml:"properties"`
			} `yaml:"ApiError"`
		} `yaml:"schemas"`
	} `yaml:"components"`
}

// apiPathItem is a path item: its shared parameters, and its operations among the rest.
type apiPathItem struct {
	Parameters []apiParameter       `yaml:"parameters"`
	Rest       map[string]yaml.Node `yaml:",inline"`
}

type apiOperation struct {
	OperationID string               `yaml:"operationId"`
	Parameters  []apiParameter       `yaml:"parameters"`
	Responses   map[string]yaml.Node `yaml:"responses"`
}

type apiParameter struct {
	Ref      string `yaml:"$ref"`
	Name     string `yaml:"name"`
	In       string `yaml:"in"`
	Required bool   `yaml:"required"`
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// operations returns the item's operations by upper-case method.
func (item apiPathItem) operations(t *testing.T, path string) map[string]apiOperation {
	t.Helper()
	ops := map[string]apiOperation{}
	for key, node := range item.Rest {
		if !slices.Contains(httpMethods, key) {
			continue
		}
		var op apiOperation
		if err := node.Decode(&op); err != nil {
			t.Fatalf("openapi.yaml: %s %s: %v", key, path, err)
		}
		ops[strings.ToUpper(key)] = op
	}
	return ops
}

func (doc *apiDoc) resolveParameter(t *testing.T, p apiParameter) apiParameter {
	t.Helper()
	if p.Ref == "" {
		return p
	}
	name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/")
	q, found := doc.Components.Parameters[name]
	if !ok || !found {
		t.Errorf("parameter $ref %q does not resolve", p.Ref)
	}
	return q
}

func mustParseOpenAPI(t *testing.T) *apiDoc {
	t.Helper()
	var doc apiDoc
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if len(doc.Paths) == 0 {
		t.Fatal("openapi.yaml: no paths")
	}
	return &doc
}

// routeKey turns a ServeMux pattern into "METHOD /path" with OpenAPI path
// templates: "{name...}" becomes "{name}" and a trailing "{$}" is dropped.
func routeKey(pattern string) (string, error) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok || method == "" || !strings.HasPrefix(path, "/") {
		return "", fmt.Errorf("route %q: want \"METHOD /path\"", pattern)
	}
	path = strings.TrimSuffix(path, "{$}")
	path = strings.ReplaceAll(path, "...}", "}")
	return method + " " + path, nil
}

var pathParamRE = regexp.MustCompile(`\{([^}/]+)\}`)

func pathParams(path string) []string {
	var names []string
	for _, m := range pathParamRE.FindAllStringSubmatch(path, -1) {
		names = append(names, m[1])
	}
	return names
}

// lookupRef resolves a local JSON pointer such as "#/components/schemas/Event" in a mapping node.
func lookupRef(n *yaml.Node, ref string) *yaml.Node {
	ptr, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	for _, seg := range strings.Split(ptr, "/") {
		seg, err := url.PathUnescape(seg)
		if err != nil {
			return nil
		}
		seg = strings.NewReplacer("~1", "/", "~0", "~").Replace(seg)
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == seg {
				next = n.Content[i+1]
				break
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

// isAPIRoute reports whether a route ("METHOD /path") belongs in the OpenAPI
// document: the API under /api/ and the operational endpoints, not the web
// viewer's page and assets.
func isAPIRoute(key string) bool {
	_, path, _ := strings.Cut(key, " ")
	switch path {
	case "/healthz", "/readyz", "/metrics":
		return true
	}
	return strings.HasPrefix(path, "/api/")
}
