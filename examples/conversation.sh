#!/usr/bin/env bash
# The README's scripted conversation: "give me chords, a bassline and drums for a lo-fi track in D minor at
# 82 BPM, a melody over them, make it a song, put it in Live, export MIDI and render a WAV" — as `liveloom call`s.
# Usage: bash examples/conversation.sh [LIVE]   (LIVE: sim (default) or HOST:PORT of a running Live set)
# The workspace is LIVELOOM_HOME (set it to keep the results somewhere else).
set -euo pipefail
LIVE="${1:-sim}"
LL="${LIVELOOM:-liveloom}"
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(d$1)"; }

echo "1. chords: an 8-bar lo-fi progression in D minor at 82 BPM"
out=$($LL call compose --json '{"role": "chords", "key": "D minor", "bars": 8, "tempo": 82, "style": "lofi", "seed": 7}')
chords=$(echo "$out" | field '["id"]'); prog=$(echo "$out" | field '["progression"]')
echo "   $chords over '$prog', checks passed: $(echo "$out" | field '["all_checks_passed"]')"

echo "2. a bassline over the same progression"
bass=$($LL call compose --json "{\"role\": \"bass\", \"key\": \"D minor\", \"bars\": 8, \"style\": \"lofi\", \"progression\": \"$prog\", \"seed\": 7}" | field '["id"]')
echo "   $bass"

echo "3. drums"
drums=$($LL call compose --json '{"role": "drums", "bars": 8, "tempo": 82, "style": "lofi", "seed": 7}' | field '["id"]')
echo "   $drums"

echo "4. a melody over the chords, up high"
melody=$($LL call compose --json "{\"role\": \"melody\", \"key\": \"D minor\", \"bars\": 8, \"style\": \"lofi\", \"progression\": \"$prog\", \"register\": \"high\", \"seed\": 7}" | field '["id"]')
echo "   $melody"

echo "5. arrange a verse-chorus song from those parts (a counter-melody is written for the choruses)"
out=$($LL call arrange --json "{\"style\": \"lofi\", \"key\": \"D minor\", \"tempo\": 82, \"form\": \"verse-chorus\", \"progression\": \"$prog\", \"seed_clips\": {\"chords\": \"$chords\", \"bass\": \"$bass\", \"drums\": \"$drums\", \"lead\": \"$melody\"}}")
song=$(echo "$out" | field '["id"]')
echo "   $song: $(echo "$out" | field '["bars"]') bars, $(echo "$out" | field '["notes"]') notes, checks $(echo "$out" | field '["checks_passed"]')/$(echo "$out" | field '["checks_total"]')"

echo "6. write it into Live ($LIVE), every clip verified by reading it back"
$LL call write_song --live "$LIVE" --json "{\"id\": \"$song\"}" | field '["clips"].__len__()' | sed 's/^/   clips written and verified: /'

echo "7. export MIDI"
$LL call export_midi --json "{\"ids\": [\"$song\"], \"path\": \"lofi-song.mid\", \"overwrite\": true}" | field '["path"]' | sed 's/^/   /'

echo "8. render a WAV to listen to"
$LL call render_audio --json "{\"id\": \"$song\", \"path\": \"lofi-song.wav\"}" | field '["path"]' | sed 's/^/   /'
