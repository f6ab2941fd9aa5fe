package textdiff

import (
	"bytes"
	"sort"
)

// renameMinScore is git's default similarity threshold for renames (50%).
const renameMinScore = 50

// renameMaxPairs caps inexact rename detection (candidate pairs compared);
// beyond it only exact renames are found, like git's diff.renameLimit.
const renameMaxPairs = 400 * 400

// DetectRenames pairs deleted and added paths: exact renames (same blob and
// kind) first, then, for regular text files, by line similarity at git's
// default threshold. Typechanges are never renames.
func DetectRenames(pairs []FilePair) []FilePair {
	var dels, adds []int
	for i, p := range pairs {
		switch {
		case p.From != nil && p.To == nil:
			dels = append(dels, i)
		case p.From == nil && p.To != nil:
			adds = append(adds, i)
		}
	}
	if len(dels) == 0 || len(adds) == 0 {
		return pairs
	}
	usedDel := map[int]bool{}
	matched := map[int]int{} // add index -> del index
	scores := map[int]int{}
	byHash := map[string][]int{}
	for _, d := range dels {
		byHash[pairs[d].From.Hash] = append(byHash[pairs[d].From.Hash], d)
	}
	for _, a := range adds {
		for _, d := range byHash[pairs[a].To.Hash] {
			if !usedDel[d] && kind(pairs[d].From.Mode) == kind(pairs[a].To.Mode) {
				usedDel[d] = true
				matched[a] = d
				scores[a] = 100
				break
			}
		}
	}
	if len(dels)*len(adds) <= renameMaxPairs {
		type cand struct{ a, d, score int }
		var cands []cand
		for _, a := range adds {
			if _, ok := matched[a]; ok || !pairs[a].To.isFile() {
				continue
			}
			nb := pairs[a].To.Data
			for _, d := range dels {
				if usedDel[d] || !pairs[d].From.isFile() {
					continue
				}
				ob := pairs[d].From.Data
				mx, mn := len(ob), len(nb)
				if mn > mx {
					mx, mn = mn, mx
				}
				if mx == 0 || (mx-mn)*100 > (100-renameMinScore)*mx {
					continue // sizes too far apart to reach the threshold
				}
				if IsBinary(ob) != IsBinary(nb) {
					continue
				}
				s := Similarity(ob, nb)
				if s >= renameMinScore {
					cands = append(cands, cand{a, d, s})
				}
			}
		}
		sort.SliceStable(cands, func(i, j int) bool { return cands[i].score > cands[j].score })
		for _, c := range cands {
			if usedDel[c.d] {
				continue
			}
			if _, ok := matched[c.a]; ok {
				continue
			}
			usedDel[c.d] = true
			matched[c.a] = c.d
			scores[c.a] = c.score
		}
	}
	var out []FilePair
	for i, p := range pairs {
		if usedDel[i] {
			continue
		}
		if d, ok := matched[i]; ok {
			od := pairs[d]
			p.OldPath, p.From, p.Score = od.OldPath, od.From, scores[i]
		}
		out = append(out, p)
	}
	return out
}

// Similarity is the share (percent) of the larger file's bytes found in
// lines common to both files.
func Similarity(a, b []byte) int {
	if bytes.Equal(a, b) {
		return 100
	}
	la, lb := SplitLines(a), SplitLines(b)
	common := 0
	i := 0
	for _, e := range Lines(la, lb) {
		for ; i < e.A0; i++ {
			common += len(la[i])
		}
		i = e.A1
	}
	for ; i < len(la); i++ {
		common += len(la[i])
	}
	mx := max(len(a), len(b))
	return common * 100 / mx
}
