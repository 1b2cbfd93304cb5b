// The shared-map test's groups → per-layer override targets, validated with errors a user can act on.
import { InvalidRequestError } from '../../../shared/errors';
import type { ShareTarget } from '../ops/analysis_share';
import type { MapShare } from './types';

/**
 * Targets per layer: every member of a group of ≥ 2 maps takes P_shared (mode 'medoid': the medoid's
 * row; 'mean': the members' mean row). Groups of one are left exactly as they are, and so is the
 * medoid itself in 'medoid' mode (its output already is P_medoid·V), so a layer may have no target.
 */
export function shareTargets(shares: readonly MapShare[], layers: number, maps: number): Map<number, ShareTarget[]> {
  const out = new Map<number, ShareTarget[]>();
  for (const s of shares) {
    if (!Number.isInteger(s.layer) || s.layer < 0 || s.layer >= layers) throw new InvalidRequestError(`shared-map layer ${s.layer} is not a layer of this model (0 .. ${layers - 1})`);
    if (s.mode !== 'medoid' && s.mode !== 'mean') throw new InvalidRequestError(`shared-map mode must be 'medoid' or 'mean', not '${String(s.mode)}'`);
    if (s.medoids.length !== s.groups.length) throw new InvalidRequestError(`layer ${s.layer}: ${s.groups.length} groups but ${s.medoids.length} medoids`);
    if (out.has(s.layer)) throw new InvalidRequestError(`layer ${s.layer} is listed twice in the shared-map groups`);
    const seen = new Set<number>();
    const targets: ShareTarget[] = [];
    s.groups.forEach((g, k) => {
      for (const m of g) {
        if (!Number.isInteger(m) || m < 0 || m >= maps) throw new InvalidRequestError(`layer ${s.layer}: map ${m} is not one of this model's ${maps} maps per layer`);
        if (seen.has(m)) throw new InvalidRequestError(`layer ${s.layer}: map ${m} is in two groups`);
        seen.add(m);
      }
      if (!g.includes(s.medoids[k])) throw new InvalidRequestError(`layer ${s.layer}: medoid ${s.medoids[k]} is not in its group [${g.join(', ')}]`);
      if (g.length < 2) return;
      for (const m of g) {
        if (s.mode === 'medoid' && m === s.medoids[k]) continue;
        targets.push({ map: m, members: s.mode === 'medoid' ? [s.medoids[k]] : [...g] });
      }
    });
    out.set(s.layer, targets);
  }
  return out;
}
