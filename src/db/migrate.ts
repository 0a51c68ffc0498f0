import type { Knex } from 'knex'
import { migrations, type Migration } from '../../migrations/index.ts'

/** knex's migration source over the explicit list in migrations/index.ts. */
const source: Knex.MigrationSource<readonly [string, Migration]> = {
  getMigrations: async () => [...migrations],
  getMigrationName: ([name]) => name,
  getMigration: async ([, migration]) => migration,
}

const config: Knex.MigratorConfig = { migrationSource: source, tableName: 'knex_migrations' }

/** Apply every pending migration; returns the names applied. */
export async function migrateLatest(knex: Knex): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest(config)) as [number, string[]]
  return applied
}

/** Roll back every applied migration (tests prove each one is reversible). */
export async function rollbackAll(knex: Knex): Promise<string[]> {
  const [, rolledBack] = (await knex.migrate.rollback(config, true)) as [number, string[]]
  return rolledBack
}
