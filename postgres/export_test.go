package postgres

import (
	"github.com/auditlog/auditlog"
)

// FindSQL returns the SQL, and its arguments, of the first chunk FindEvents reads for f in organization org.
func FindSQL(org int32, f auditlog.EventFilter) (string, []any, bool) {
	q, ok := findQuery(org, f)
	if !ok {
		return "", nil, false
	}
	limit := findChunk
	if f.Limit > 0 && q.exact {
		limit = min(limit, f.Limit)
	}
	sql, args := q.chunkSQL(f.After, limit)
	return sql, args, true
}
