package notify

import (
	"slices"
	"testing"

	"qianliyan/configs"
)

// TestEveryWebhookEventHasItsAction checks that configs.WebhookEvents and
// the events made from timeline entries are the same list.
func TestEveryWebhookEventHasItsAction(t *testing.T) {
	var made []string
	for _, ev := range eventOf {
		made = append(made, ev)
		if eventWords[ev] == "" {
			t.Errorf("event %s has no words for the text", ev)
		}
	}
	slices.Sort(made)
	want := slices.Sorted(slices.Values(configs.WebhookEvents))
	if !slices.Equal(made, want) {
		t.Errorf("events made from timeline entries %v, want configs.WebhookEvents %v", made, want)
	}
}
