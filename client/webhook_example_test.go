package client_test

import (
	"encoding/json"
	"io"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/client"
)

// A receiver of a webhook stream checks each delivery's signature with the
// stream's secret before it trusts the events, and answers 2xx only once it
// has kept them: any other answer makes the server deliver them again.
func ExampleVerifyWebhook() {
	secret := os.Getenv("AUDITLOG_WEBHOOK_SECRET") // the secret given when the stream was created
	http.HandleFunc("POST /auditlog", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 32<<20))
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		if err := client.VerifyWebhook(secret, r.Header.Get(client.WebhookSignatureHeader), body, 5*time.Minute); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var delivery struct {
			Events []auditlog.Event `json:"events"`
		}
		if err := json.Unmarshal(body, &delivery); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		for _, e := range delivery.Events {
			// Delivery is at least once: keep each event by its id.
			log.Printf("%s %d %s %s", e.Organization, e.Sequence, e.ID, e.Action)
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
