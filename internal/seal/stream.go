package seal

import (
	"encoding/json"
	"fmt"

	"github.com/auditlog/auditlog"
)

// sealedSecrets is the plaintext of a stream's sealed secrets.
type sealedSecrets struct {
	URL    string `json:"url"`
	Secret []byte `json:"secret,omitempty"`
}

// streamContext binds sealed stream secrets to their stream: they open only
// as the secrets of that organization's stream id.
func streamContext(ref auditlog.OrgRef, id string) []byte {
	return []byte("auditlog stream secrets v1\x00" + ref.Provider + "\x00" + ref.Name + "\x00" + id)
}

// SealStream seals the secrets of stream id of ref, as every store keeps them.
func (k *Key) SealStream(ref auditlog.OrgRef, id string, s auditlog.StreamSecrets) ([]byte, error) {
	plain, err := json.Marshal(sealedSecrets{URL: s.URL, Secret: s.Secret})
	if err != nil {
		return nil, err
	}
	return k.Seal(plain, streamContext(ref, id)), nil
}

// OpenStream opens the secrets SealStream sealed for stream id of ref.
func (k *Key) OpenStream(ref auditlog.OrgRef, id string, sealed []byte) (*auditlog.StreamSecrets, error) {
	plain, err := k.Open(sealed, streamContext(ref, id))
	if err != nil {
		return nil, fmt.Errorf("stream %s/%s: %w", ref, id, err)
	}
	var s sealedSecrets
	if err := json.Unmarshal(plain, &s); err != nil {
		return nil, fmt.Errorf("stream %s/%s: sealed secrets: %w", ref, id, err)
	}
	return &auditlog.StreamSecrets{URL: s.URL, Secret: s.Secret}, nil
}
