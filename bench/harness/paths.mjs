// Where the harness finds the built workspace: bench/ is not a workspace package, so it loads
// the packages' dist/ by path, and their dependencies from the package that declares them.
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const fromRoot = (p) => join(root, p)
export const importDist = (p) => import(pathToFileURL(fromRoot(p)).href)

/** A dependency of a workspace package (e.g. fastify of the gateway), as that package resolves it. */
export function importFrom (pkgDir, name) {
  const require = createRequire(fromRoot(join(pkgDir, 'package.json')))
  return import(pathToFileURL(require.resolve(name)).href)
}
