// `npm run build:kube`: builds the test kube-apiserver and etcd into the binary cache (see README.md).
import { kubeBinDir, pinnedKubeVersions } from '../src/kube-api/binaries.js';
import { buildKubeBinaries } from '../src/kube-api/build.js';

try {
  const versions = await pinnedKubeVersions();
  const dir = kubeBinDir(versions, process.env);
  const reports = await buildKubeBinaries({ dir, versions, log: (line) => console.log(line) });
  if (reports.every((report) => report.outcome === 'kept')) {
    console.log(`kube-apiserver ${versions.kubernetes} and etcd ${versions.etcd} are up to date in ${dir}`);
  }
} catch (error) {
  console.error(`build:kube: ${(error as Error).message}`);
  process.exit(1);
}
