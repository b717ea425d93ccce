package http

import (
	"net/http"
)

// route is one entry of the route table.
type route struct {
	pattern string // method and path, as http.ServeMux takes it
	handler http.HandlerFunc
}

// routes is the whole route table. The OpenAPI document (openapi.yaml)
// describes exactly these routes; a test holds the two together.
func (s *Server) routes() []route {
	return []route{
		// Codacy-compatible read (api-token).
		{"GET /api/v3/organizations/{provider}/{remoteOrganizationName}/audit", s.handleCodacyAudit},

		// Host platform (admin token).
		{"POST /api/v1/events", s.handleIngest},
		{"PUT /api/v1/organizations/{provider}/{name}", s.handlePutOrganization},
		{"GET /api/v1/organizations/{provider}/{name}", s.handleGetOrganization},
		{"GET /api/v1/organizations/{provider}/{name}/members/{email}", s.handleGetMember},
		{"PUT /api/v1/organizations/{provider}/{name}/members/{email}", s.handlePutMember},
		{"DELETE /api/v1/organizations/{provider}/{name}/members/{email}", s.handleDeleteMember},
		{"POST /api/v1/users/{email}/tokens", s.handleCreateUserToken},

		{"POST /api/v1/users/{email}/erase", s.handleErase},

		// Users (api-token).
		{"GET /api/v1/user", s.handleGetUser},
		{"POST /api/v1/user/tokens", s.handleCreateOwnToken},
		{"GET /api/v1/user/tokens", s.handleListOwnTokens},
		{"DELETE /api/v1/user/tokens/{id}", s.handleDeleteOwnToken},

		// Organization admins (api-token): the organization manager role.
		{"PUT /api/v1/organizations/{provider}/{name}/managers/{email}", s.handlePutManager},
		{"DELETE /api/v1/organizations/{provider}/{name}/managers/{email}", s.handleDeleteManager},

		// Organization admins and managers (api-token): events, exports and tamper evidence.
		{"GET /api/v1/organizations/{provider}/{name}/events", s.handleListEvents},
		{"GET /api/v1/organizations/{provider}/{name}/events/export", s.handleExport},
		{"GET /api/v1/organizations/{provider}/{name}/events/activity", s.handleActivity},
		{"GET /api/v1/organizations/{provider}/{name}/checkpoint", s.handleCheckpoint},
		{"GET /api/v1/organizations/{provider}/{name}/events/{sequence}/proof", s.handleInclusionProof},
		{"GET /api/v1/organizations/{provider}/{name}/consistency", s.handleConsistencyProof},
		{"POST /api/v1/organizations/{provider}/{name}/streams", s.handleCreateStream},
		{"GET /api/v1/organizations/{provider}/{name}/streams", s.handleListStreams},
		{"GET /api/v1/organizations/{provider}/{name}/streams/{id}", s.handleGetStream},
		{"DELETE /api/v1/organizations/{provider}/{name}/streams/{id}", s.handleDeleteStream},

		// Anyone.
		{"GET /api/v1/actions", s.handleActions},
		{"GET /api/v1/log-key", s.handleLogKey},
		{"GET /healthz", s.handleHealthz},
		{"GET /readyz", s.handleReadyz},
		{"GET /metrics", s.handleMetrics},
		{"GET /api/openapi.yaml", s.handleOpenAPI},

		// The web viewer (SPEC §11): its page and the files the page loads.
		{"GET /{$}", s.handleWebPage},
		{"GET /assets/{file}", s.handleWebAsset},
	}
}

func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.pattern, s.instrument(s.guard(rt.pattern, rt.handler)))
	}
	mux.Handle("/", s.instrument(s.guard("", s.handleNotFound)))
	return s.secure(mux)
}

// RoutePatterns returns the pattern of every route of the route table, for
// tests that must cover each route.
func RoutePatterns() []string {
	var out []string
	for _, rt := range (&Server{}).routes() {
		out = append(out, rt.pattern)
	}
	return out
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	Error(w, r, s.Logger, errNoRoute)
}
