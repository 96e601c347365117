#!/usr/bin/env bash
# Every plan figure quoted in README.md ("A plan's yearly budget", "Where the plan disagrees with
# the seeds", seed 000, the SaaS scenario) and docs/plan.md ("Seeds"), one line each: re-run after
# a change to the roofline, the catalogs or the plan, and update the docs from its output.
#
#   bash scripts/seed_figures.sh            # about 3 minutes on the 2-core dev machine
#   bash scripts/seed_figures.sh --quick    # without the slow SaaS variants
set -euo pipefail
cd "$(dirname "$0")/.."

npv() {  # the summary's first lines: net present cost, cash by year total, the mix
    echo "== planner $*"
    planner "$@" | grep -E "net present cost|^  total|Tokens:|^    [a-z(]|Reserves|Rents|Owns|Buys" \
        | sed 's/^/   /'
}

for s in seed001_light seed001_medium seed001_heavy; do
    npv plan "scenarios/$s.yaml"
    npv plan "scenarios/$s.yaml" --channels api
done
npv plan scenarios/seed001_heavy.yaml --variant spot_for_chat
npv plan scenarios/seed001_heavy.yaml --set demand_multiplier=0.95
for s in seed001_light seed001_medium seed001_heavy; do
    echo "== planner breakeven scenarios/$s.yaml (which channel wins at today's volume)"
    planner breakeven "scenarios/$s.yaml" | sed -n '/^At each/,$p' | sed 's/^/   /'
done
echo "== planner sensitivity scenarios/seed001_heavy.yaml"
planner sensitivity scenarios/seed001_heavy.yaml | sed -n '2,9p' | sed 's/^/   /'
npv plan scenarios/seed000_h200_token_factory.yaml
npv plan scenarios/seed000_h200_token_factory.yaml --variant flat_prices
npv plan scenarios/saas_usd.yaml
npv plan scenarios/saas_usd.yaml --channels api
variants=(api_price_drop no_spot gpu_clouds aws_only)
[[ "${1:-}" == "--quick" ]] || variants+=(fast_growth frontier_only flat_prices)
for v in "${variants[@]}"; do
    npv plan scenarios/saas_usd.yaml --variant "$v"
done
