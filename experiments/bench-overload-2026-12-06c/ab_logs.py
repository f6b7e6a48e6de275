"""Reads the logs ab.sh writes (ab-<round>-<name>-*.log, the bench's own JSON lines)."""
import glob, json, os, re
from collections import defaultdict


def load_rounds(folder, names):
    """(model, transport, factor) -> {(round, name): point} for the arms named."""
    runs = defaultdict(dict)
    for path in glob.glob(os.path.join(folder, 'ab-*.log')):
        m = re.match(r'ab-(\d+)-([^-]+)-', os.path.basename(path))
        if not m or m.group(2) not in names:
            continue
        for line in open(path):
            if line.startswith('{'):
                r = json.loads(line)
                if 'goodput' in r:
                    runs[(r['model'], r['transport'], r['factor'])][(int(m.group(1)), m.group(2))] = r
    return runs
