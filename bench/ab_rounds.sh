# Sourced by bench/intake_ab.sh and bench/publish_ab.sh: the order of a round's runs.

# Prints the configurations given after round number $1, one per line: in the order given in
# odd rounds and reversed in even ones, so that no build always runs first.
round_order() {
  local round=$1 i
  shift
  if [ $((round % 2)) = 0 ]; then
    for ((i = $#; i >= 1; i--)); do printf '%s\n' "${!i}"; done
  else
    printf '%s\n' "$@"
  fi
}
