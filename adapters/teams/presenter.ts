/**
 * Teams' presenter for the chat session (adapters/chat/ports.ts): the outcomes as render.ts words
 * and lays them out (markdown text, Adaptive Cards), in the reader's time zone; a notice
 * re-rendered whole after a click from the current state of its users, with the rows it was
 * posted with (render-notices.ts). Pure.
 */
import type { CommandOutcome } from '../../src/commands/types.ts'
import type { ChatOrigin, ChatPresenter, PresentContext } from '../chat/ports.ts'
import { renderBannerOnly, renderEditCard, renderLinkSentPrivately, renderList, renderOutcome, renderProblem, renderShow, type RenderContext, type TeamsMessage } from './render.ts'
import { renderNoticeNow } from './render-notices.ts'
import type { CardOrigin } from './schemas.ts'

/** Actions a change of state: said to the conversation (the rest answers the caller). */
const CHANGES = new Set<CommandOutcome['kind']>(['added', 'resent', 'regenerated', 'edited', 'removed', 'notices_set', 'notices_off'])

export const teamsPresenter: ChatPresenter<TeamsMessage> = {
  outcome(outcome, ctx) {
    const rendered = renderOutcome(outcome, renderContext(ctx))
    const change = CHANGES.has(outcome.kind) && !(outcome.kind === 'notices_off' && outcome.previous === null)
    return { private: change ? null : rendered.message, public: change ? rendered.message : null, summary: rendered.summary }
  },
  list: (list, ctx, banner) => renderList(list, ctx.now, banner, ctx.timeZone),
  show: (shown, ctx, banner) => renderShow(shown.user, shown.history, ctx.now, banner, ctx.timeZone),
  notice({ origin, users, banner, clickedUserId, ctx }) {
    if (!origin.notice || !origin.userIds) return null
    return renderNoticeNow({ kind: 'notice', notice: origin.notice, userIds: origin.userIds }, users, {
      now: ctx.now,
      timeZone: ctx.timeZone,
      banner: clickedUserId ? { userId: clickedUserId, text: banner } : null,
    })
  },
  bannerOnly: renderBannerOnly,
  problem: renderProblem,
  editForm: (user, groups, ctx) => renderEditCard(user, groups, cardOrigin(ctx.origin)),
  linkSentPrivately: (email, ctx) => renderLinkSentPrivately(email, ctx.actor.displayName ?? 'An administrator'),
  banner: (tone, summary) => `${tone === 'done' ? '✅' : 'ℹ️'} ${summary}`,
}

function renderContext(ctx: PresentContext): RenderContext {
  return { now: ctx.now, actorName: ctx.actor.displayName ?? 'An administrator', origin: cardOrigin(ctx.origin), timeZone: ctx.timeZone }
}

/** The session's origin as a card carries it on: a notice that does not name its users is a plain reply. */
function cardOrigin(origin: ChatOrigin): CardOrigin {
  if (origin.kind !== 'notice') return origin
  return origin.notice && origin.userIds ? { kind: 'notice', notice: origin.notice, userIds: origin.userIds } : { kind: 'reply' }
}
