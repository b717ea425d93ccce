// Package query parses the search language of SPEC §9 (the q parameter of
// listings, exports, the web viewer and streams) into an auditlog.Query, and
// writes a Query back as canonical text.
//
// # Grammar
//
//	query   = { space } [ term { space { space } term } ] { space }
//	term    = [ "-" ] ( field ":" value | words )
//	field   = "action" | "actor" | "repo" | "result" | "source" | "role"
//	        | "entity" | "level" | "created"           (case-insensitive)
//	value   = part { part }
//	words   = part { part }
//	part    = plain | quoted
//	plain   = any characters but space and '"'
//	quoted  = '"' { any character but '"' and '\' | '\"' | '\\' | '\' } '"'
//
// A space is any Unicode white space. Terms are ANDed; a leading '-' negates
// its term. Parts concatenate, so repo:"my repo" and repo:my" "repo are the
// same term. Inside quotes, \" is a quote and \\ a backslash; any other
// backslash is itself. Quoting a colon escapes the field syntax: "http://x"
// searches words, where http://x is an unknown field. A term whose text
// before its first ':' is not made of ASCII letters (10:30) is words.
//
// # Fields
//
//   - action: a catalog action (auditlog.LookupAction), or a prefix ending in
//     an unquoted '*' that starts at least one catalog action
//     (action:organizations.gatepolicies.*). Case-insensitive.
//   - actor: an email, normalized by auditlog.NormalizeEmail (lower case).
//   - repo, entity: the exact repositoryName or entityId; a '*' is literal.
//   - result: succeed, failed or rejected. source: UI or API. role: one of
//     the six actor roles. level: user, organization or repository (of the
//     action in the catalog). All case-insensitive, kept in canonical case.
//   - created: bounds on timestamp, kept as Term.From (inclusive) and Term.To
//     (exclusive), in UTC, with millisecond precision. A point is a date
//     YYYY-MM-DD (a UTC day), the keywords today or yesterday (UTC days of
//     the now given to Parse), or an RFC 3339 datetime (an exact instant,
//     truncated to the millisecond). With a point's start S and end E (the
//     next day's start for a date, the instant plus 1ms for a datetime):
//     created:P (or =P) is [S, E); >P is [E, ∞); >=P is [S, ∞); <P is
//     (-∞, S); <=P is (-∞, E); and A..B is [S(A), E(B)), an error unless it
//     is non-empty. Points must lie between 1970 and 9999, like event
//     timestamps. today and yesterday are resolved when parsing: the
//     canonical form of a query (Format) names the date itself.
//
// No value may be empty; values are at most 256 bytes.
//
// # Words
//
// A term without a field matches, case-insensitively, whole words (runs of
// letters and digits, auditlog.Words) of the description or of any string in
// details. A term's text is lower-cased and split into its words, each becoming
// its own term: foo-bar, "foo bar" and foo bar are the same two terms, which
// must both appear, anywhere (there is no phrase or adjacency search). A text
// with no letter or digit is an error. An unquoted '*' ending the term makes
// its last word a prefix (gate* matches gatepolicy); an unquoted '*' anywhere
// else is an error, and a quoted '*' separates words like any punctuation.
// Negating a term that splits into several words is an error (not all of
// them, or none of them, would be ambiguous): negate each word on its own.
//
// # Limits
//
// A query is valid UTF-8 of at most 1,024 bytes that parses into at most 32
// terms (after splitting words), and whose canonical form (Format) is also at
// most 1,024 bytes, so that it can be stored and parsed again. Every error is
// an *auditlog.Error with code auditlog.EINVALID whose message names the bad
// term, its number, its 1-based character position and the reason; for
// result:failed action:user.dance it is
//
//	q: term 2 "action:user.dance" at position 15: unknown action "user.dance": see GET /api/v1/actions, or end a prefix with '*'
//
// Each parsed term keeps in Term.Pos the byte offset of the text it came from.
package query
