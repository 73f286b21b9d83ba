package configs

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Webhook is one outbound webhook: the bridge POSTs a JSON body to URL on
// each of Events (a center connects its SMS gateway or the 12345 platform
// here), signed with Secret, retried with a doubling backoff and, after
// the last attempt, kept on a dead-letter list staff can retry from.
type Webhook struct {
	URL      string   `yaml:"url"`      // required, an absolute http:// or https:// URL, each webhook's own
	Secret   string   `yaml:"secret"`   // required, 16 to 256 bytes: the HMAC-SHA256 key of X-Qly-Signature
	Events   []string `yaml:"events"`   // at least one of WebhookEvents, each once
	Attempts int      `yaml:"attempts"` // tries before the dead-letter list, default 6, 1..20
	Backoff  Duration `yaml:"backoff"`  // wait after the first failed try, doubled after each, default 1s, 10ms..1h
	Timeout  Duration `yaml:"timeout"`  // of one try, default 10s, 1s..2m
}

// WebhookEvents are the task events a webhook may ask for: the task was
// created (reported), accepted (核单), rejected, dispatched (派单),
// claimed (签收), arrived, submitted (交单), verified (核查), reworked
// (sent back to its worker), closed (结案), merged (as a duplicate),
// overdue (a stage passed its time limit), rated (评单), recurred (its
// problem came back while open), reopened (it came back after the close)
// or proposed (the camera saw the fix).
var WebhookEvents = []string{"created", "accepted", "rejected", "dispatched", "claimed", "arrived", "submitted",
	"verified", "reworked", "closed", "merged", "overdue", "rated", "recurred", "reopened", "proposed"}

// The bounds of a webhook's settings.
const (
	minWebhookSecret = 16
	maxWebhookSecret = 256
	maxAttempts      = 20
)

// webhookDefaults fills what each webhook leaves out; a list's entries are
// made by the decoder, after setDefaults.
func webhookDefaults(hooks []Webhook) {
	for i := range hooks {
		h := &hooks[i]
		if h.Attempts == 0 {
			h.Attempts = 6
		}
		if h.Backoff == 0 {
			h.Backoff = Duration(time.Second)
		}
		if h.Timeout == 0 {
			h.Timeout = Duration(10 * time.Second)
		}
	}
}

func validateWebhooks(d *decoder, path string, hooks []Webhook) {
	first := map[string]string{} // URL → path of the webhook that has it first
	for i := range hooks {
		p := fmt.Sprintf("%s[%d]", path, i)
		validateWebhook(d, p, &hooks[i])
		d.unique(first, hooks[i].URL, p, "url", "")
	}
}

func validateWebhook(d *decoder, path string, h *Webhook) {
	// The URL may carry the receiver's key in its query: no message repeats it.
	u, err := url.Parse(h.URL)
	switch {
	case h.URL == "":
		d.check(path+".url", "is required, like https://sms.example.org/qly")
	case err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		d.check(path+".url", "must be an absolute http:// or https:// URL, like https://sms.example.org/qly")
	}
	// Nor the secret.
	switch n := len(h.Secret); {
	case n == 0:
		d.check(path+".secret", fmt.Sprintf("is required: %d to %d bytes the receiver checks X-Qly-Signature with", minWebhookSecret, maxWebhookSecret))
	case n < minWebhookSecret || n > maxWebhookSecret:
		d.check(path+".secret", fmt.Sprintf("is %d bytes long; it must be %d to %d", n, minWebhookSecret, maxWebhookSecret))
	}
	if len(h.Events) == 0 {
		d.check(path+".events", "needs at least one of "+strings.Join(WebhookEvents, ", "))
	}
	d.eachOnce(path+".events", h.Events, WebhookEvents)
	if h.Attempts < 1 || h.Attempts > maxAttempts {
		d.check(path+".attempts", fmt.Sprintf("%d is outside 1..%d", h.Attempts, maxAttempts))
	}
	if h.Backoff < Duration(10*time.Millisecond) || h.Backoff > Duration(time.Hour) {
		d.check(path+".backoff", h.Backoff.text()+" is outside 10ms..1h")
	}
	if h.Timeout < Duration(time.Second) || h.Timeout > Duration(2*time.Minute) {
		d.check(path+".timeout", h.Timeout.text()+" is outside 1s..2m")
	}
}
