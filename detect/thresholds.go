package detect

import "time"

// Thresholds are the analyzers' tuning, in words a person can check
// against the picture. Pictures are analysed in gray at AnalysisSize.
type Thresholds struct {
	// MotionVarThreshold is MOG2's variance threshold: higher ignores more
	// noise (rain, compression) and misses more faint movement.
	MotionVarThreshold float64
	// PersonMinPx and PersonMaxPx are the heights in pixels of the decoded
	// picture (whatever its resolution) of the smallest and the largest
	// person looked for. The motion gate follows them: a moving region must
	// be a fair part of the smallest person expected at its height of the
	// picture (smaller near the top, further away).
	PersonMinPx, PersonMaxPx int
	// ZoneDiff is the mean luma difference (0–255) inside a zone above
	// which it no longer looks like its reference.
	ZoneDiff float64
	// ZoneHold is how long a zone must differ, with no motion in it,
	// before zone_changed is raised (and match again before it clears).
	ZoneHold time.Duration
	// CoveredStdDev: a whole picture with less luma spread than this is
	// covered or black.
	CoveredStdDev float64
	// DefocusRatio: sharpness (variance of the Laplacian) below this
	// fraction of the reference's means defocused.
	DefocusRatio float64
	// TurnedDiff: a whole-picture mean luma difference from the reference,
	// once the mean brightness of both is taken away, above which the
	// camera was turned away.
	TurnedDiff float64
	// TamperHold is how long a tamper condition must last to be raised.
	TamperHold time.Duration
	// PersonScore is the people detector's lowest score that counts as a
	// person (its SVM margin: 0 is the border, 1 is sure).
	PersonScore float64
	// PersonHits is how many finds a track needs before it counts as a
	// person (and may come into a zone).
	PersonHits int
	// PersonGone is how long a tracked person may go unfound (hidden by
	// someone, missed by the detector) before they count as having left.
	PersonGone time.Duration
	// LoiterAfter is how long someone may stay in a restricted zone before
	// loitering is raised.
	LoiterAfter time.Duration
}

// DefaultThresholds are tuned on camsim's street scenes.
func DefaultThresholds() Thresholds {
	return Thresholds{
		MotionVarThreshold: 16,
		PersonMinPx:        50,
		PersonMaxPx:        400,
		ZoneDiff:           18,
		ZoneHold:           3 * time.Second,
		CoveredStdDev:      8,
		DefocusRatio:       0.35,
		TurnedDiff:         20,
		TamperHold:         3 * time.Second,
		PersonScore:        0.3,
		PersonHits:         2,
		PersonGone:         2 * time.Second,
		LoiterAfter:        30 * time.Second,
	}
}
