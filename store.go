package auditlog

// Store is a storage backend: the directory, account API tokens and events (pebble/, postgres/).
type Store interface {
	DirectoryService
	TokenService
	EventService
}
