import type { Knex } from 'knex'

/**
 * The statements a knex instance sends, by their SQL text (knex's `query` event): each is one
 * round trip to the database, so tests count them rather than time them.
 */
export interface StatementRecorder {
  /** The SQL of every statement sent since recording began (until `stop`), in order. */
  readonly sql: string[]
  /** How many of them contain `text`. */
  count(text: string): number
  /** Stop recording; `sql` keeps what was recorded. */
  stop(): void
}

export function recordStatements(knex: Knex): StatementRecorder {
  const sql: string[] = []
  const on = (q: { sql?: string }) => {
    if (q.sql) sql.push(q.sql)
  }
  knex.on('query', on)
  return {
    sql,
    count: (text) => sql.filter((s) => s.includes(text)).length,
    stop: () => void knex.off('query', on),
  }
}

/** The SQL of every statement `knex` sends while `run` runs, and what `run` returned. */
export async function statementsDuring<T>(knex: Knex, run: () => Promise<T>): Promise<{ result: T; sql: string[] }> {
  const recorder = recordStatements(knex)
  try {
    return { result: await run(), sql: recorder.sql }
  } finally {
    recorder.stop()
  }
}
