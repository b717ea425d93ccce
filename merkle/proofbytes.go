package merkle

import "golang.org/x/mod/sumdb/tlog"

// ProofBytes returns a proof's hashes, as tlog gives them, as the byte
// slices of auditlog.InclusionProof and auditlog.ConsistencyProof.
func ProofBytes(hs []tlog.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}
