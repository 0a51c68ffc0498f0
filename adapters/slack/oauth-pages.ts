/**
 * The pages of "Add to Slack" (oauth.ts, docs/slack-distribution.md), as pure functions from data
 * to `{ status, html }`, like the invitee's pages (adapters/web/pages.ts) whose HTML builder and
 * stylesheet they reuse: every value from Slack or a person (workspace, account names, Slack's
 * error code) is escaped by `html`.
 *
 * Who reads them: a customer's Slack administrator installing the app, who knows neither InviteOps'
 * internals nor its operator's terminal. So each page says what happened, whether anything was
 * installed or linked, and the one thing to do next.
 */
import type { LinkInstallResult } from '../../src/installations/link-installed-workspace.ts'
import { html, raw, type HtmlValue } from '../web/html.ts'
import { ICON_SVG, statusIcon } from '../web/pages.ts'
import type { SLACK_BOT_SCOPES } from './config.ts'

export { ICON_SVG }

/** A rendered page with its HTTP status. */
export interface InstallPage {
  status: number
  html: string
}

export interface InstallPageContext {
  /** Product name in the header and the title. */
  productName: string
  stylesheetHref: string
  iconHref: string
  /** Formats an instant for the reader, zone named (these pages belong to no account yet: UTC). */
  formatDate: (d: Date) => string
}

/** What each bot scope lets the app do, in the installer's words (the scopes are in config.ts). */
export const SCOPE_WORDS: Readonly<Record<(typeof SLACK_BOT_SCOPES)[number], string>> = {
  commands: 'Add the /invite command (and /inviteops) to your workspace.',
  'chat:write': 'Post confirmations and invitation notices in the channels you add it to.',
  'users:read': 'See the name and time zone of whoever uses /invite.',
  'users:read.email': "See the email address of whoever uses /invite, to check they are an administrator of your InviteOps account. Nobody else's details are read.",
}

function page(status: number, ctx: InstallPageContext, title: string, body: HtmlValue): InstallPage {
  return {
    status,
    html: html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>${title} · ${ctx.productName}</title>
<link rel="stylesheet" href="${ctx.stylesheetHref}">
<link rel="icon" type="image/svg+xml" href="${ctx.iconHref}">
</head>
<body>
<header class="site-header"><span class="brand">${raw(ICON_SVG.replace('<svg ', '<svg class="logo" aria-hidden="true" focusable="false" '))}<span>${ctx.productName}</span></span></header>
<main id="main" class="card">
${body}
</main>
<footer class="site-footer"><p>${ctx.productName} manages your account's user invitations from Slack. Questions about this page? Ask whoever runs ${ctx.productName} for you.</p></footer>
</body>
</html>
`.value,
  }
}

/** The install link the page was opened with, checked: which account the workspace will be linked to. */
export interface InstallLinkInfo {
  accountName: string
  expiresAt: Date
}

/** `GET /slack/install`: what the app will be able to do, and the "Add to Slack" button. */
export function renderAddToSlack(ctx: InstallPageContext, data: { authorizeUrl: string; scopes: readonly (typeof SLACK_BOT_SCOPES)[number][]; link: InstallLinkInfo | null }): InstallPage {
  const { link } = data
  return page(
    200,
    ctx,
    'Add to Slack',
    html`
<p class="eyebrow">Install</p>
<h1>Add ${ctx.productName} to your Slack workspace</h1>
${
  link
    ? html`<p class="lead">This install link connects the workspace you install into to the account <strong>${link.accountName}</strong>. It works if you are an Active administrator of ${link.accountName} and your Slack email address is confirmed.</p>`
    : html`<p class="lead">You can install the app now. To use it, your workspace must then be linked to your ${ctx.productName} account: ask whoever runs ${ctx.productName} for you for an <strong>install link</strong> for your account and open it (you can also do that after installing).</p>`
}
<h2>The app will be able to</h2>
<ul>${data.scopes.map((s) => html`<li>${SCOPE_WORDS[s]}</li>`)}</ul>
<div class="actions">
  <a class="button button--primary" href="${data.authorizeUrl}">Add to Slack</a>
</div>
${link ? html`<p class="note">This link is valid until <time datetime="${link.expiresAt.toISOString()}">${ctx.formatDate(link.expiresAt)}</time>. Slack asks you which workspace to install into, then sends you back here.</p>` : html`<p class="note">Slack asks you which workspace to install into, then sends you back here.</p>`}
`,
  )
}

/** Why an install link was refused before anything went to Slack. */
export type InstallLinkProblem = 'malformed' | 'tampered' | 'expired' | 'account_missing'

/** `GET /slack/install?link=…` with a link that does not work: nothing was sent to Slack. */
export function renderInstallLinkProblem(ctx: InstallPageContext, problem: InstallLinkProblem): InstallPage {
  const askAgain = html`<p class="note">Ask whoever runs ${ctx.productName} for you for a new install link (<code>inviteops slack install-link --account …</code>). Nothing was installed or linked.</p>`
  switch (problem) {
    case 'expired':
      return page(400, ctx, 'Install link expired', html`${statusIcon('warning')}<h1>This install link has expired</h1><p class="lead">Install links are valid for a limited time, and this one's time is up.</p>${askAgain}`)
    case 'tampered':
    case 'malformed':
      return page(400, ctx, 'Install link not valid', html`${statusIcon('danger')}<h1>This install link does not work</h1><p class="lead">The link was changed or copied incompletely${problem === 'tampered' ? ' (its signature does not match)' : ''}. Try opening it again from the message it came in.</p>${askAgain}`)
    case 'account_missing':
      return page(404, ctx, 'Account not found', html`${statusIcon('danger')}<h1>This install link's account no longer exists</h1><p class="lead">The account this link was made for has been removed.</p>${askAgain}`)
    default: {
      const unreachable: never = problem
      throw new Error(`unhandled install link problem ${String(unreachable)}`)
    }
  }
}

/** After Slack sent the installer back and the installation was stored: was the workspace linked? */
export function renderInstallResult(ctx: InstallPageContext, data: { result: LinkInstallResult; workspaceName: string | null }): InstallPage {
  const { result } = data
  const where = data.workspaceName ? html`<strong>${data.workspaceName}</strong>` : 'your workspace'
  const installed = html`${ctx.productName} is installed in ${where}`
  const askForLink = html`<p class="note">Ask whoever runs ${ctx.productName} for you for an install link for your account, and open it while signed in to this workspace. Until then <code>/invite</code> in this workspace answers with the same.</p>`
  switch (result.code) {
    case 'slack.install.linked':
      return page(200, ctx, 'Installed', html`${statusIcon('success')}<h1>All set</h1><p class="lead">${installed}, and it is now linked to <strong>${result.accountName}</strong>. Type <code>/invite help</code> in Slack to begin.</p><p class="note">To get notices about invitations in a channel, add the app to it (mention it, or use the channel's Integrations) and type <code>/invite notices here</code> there.</p>`)
    case 'slack.install.already_linked':
      return page(200, ctx, 'Installed', html`${statusIcon('success')}<h1>All set</h1><p class="lead">${installed}, and it was already linked to <strong>${result.accountName}</strong>. Type <code>/invite help</code> in Slack to begin.</p>`)
    case 'slack.install.no_link':
      return page(200, ctx, 'Installed, not linked yet', html`${statusIcon('neutral')}<h1>Installed: one step left</h1><p class="lead">${installed}, but it is not linked to an ${ctx.productName} account yet, so <code>/invite</code> cannot do anything there.</p>${askForLink}`)
    case 'slack.install.not_admin':
      return page(403, ctx, 'Not linked', html`${statusIcon('danger')}<h1>Installed, but not linked</h1><p class="lead">${installed}, but it was <strong>not</strong> linked to ${result.accountName ? html`<strong>${result.accountName}</strong>` : 'the account'}: your Slack account's confirmed email address is not an Active administrator of ${result.accountName ?? 'that account'}. Nothing was linked.</p><p class="note">Ask an administrator of ${result.accountName ?? 'the account'} to open the install link themselves (signed in to this workspace), or to make you an administrator first. Check also that your email address in Slack is confirmed and the same one ${ctx.productName} knows.</p>`)
    case 'slack.install.link_expired':
      return page(400, ctx, 'Install link expired', html`${statusIcon('warning')}<h1>Installed, but not linked</h1><p class="lead">${installed}, but the install link expired before you came back from Slack, so nothing was linked.</p>${askForLink}`)
    case 'slack.install.link_invalid':
      return page(400, ctx, 'Install link not valid', html`${statusIcon('danger')}<h1>Installed, but not linked</h1><p class="lead">${installed}, but the install link it came with is not valid, so nothing was linked.</p>${askForLink}`)
    case 'slack.install.linked_elsewhere':
      return page(409, ctx, 'Linked to another account', html`${statusIcon('danger')}<h1>Installed, but not linked</h1><p class="lead">${installed}, but that workspace is already linked to another ${ctx.productName} account, so it was not linked to ${result.accountName ? html`<strong>${result.accountName}</strong>` : 'this one'}. A workspace serves exactly one account.</p><p class="note">If the workspace should change accounts, ask whoever runs ${ctx.productName} for you.</p>`)
    case 'account.not_found':
      return page(404, ctx, 'Account not found', html`${statusIcon('danger')}<h1>Installed, but not linked</h1><p class="lead">${installed}, but the account of the install link no longer exists, so nothing was linked.</p>${askForLink}`)
    default: {
      const unreachable: never = result
      throw new Error(`unhandled install result ${String((unreachable as { code: string }).code)}`)
    }
  }
}

/** Why the OAuth callback could not complete (handleCallback's failure, or ours). */
export type InstallFailure =
  | { kind: 'denied' }
  | { kind: 'slack_error'; error: string }
  | { kind: 'bad_state' }
  | { kind: 'missing_code' }
  | { kind: 'code_rejected' }
  | { kind: 'unusable' }
  | { kind: 'misconfigured' }
  | { kind: 'slack_unreachable' }
  | { kind: 'identity_unavailable'; workspaceName: string | null }
  | { kind: 'server_error' }

/** The callback failed: what happened, whether anything was installed, and what to do. */
export function renderInstallFailure(ctx: InstallPageContext, failure: InstallFailure): InstallPage {
  const startAgain = html`<p class="note">Start again from the install link (or from this server's <code>/slack/install</code> page).</p>`
  switch (failure.kind) {
    case 'denied':
      return page(403, ctx, 'Installation cancelled', html`${statusIcon('neutral')}<h1>Installation cancelled</h1><p class="lead">You chose not to allow the app in Slack, so nothing was installed or linked.</p>${startAgain}`)
    case 'slack_error':
      return page(400, ctx, 'Slack did not install the app', html`${statusIcon('danger')}<h1>Slack did not install the app</h1><p class="lead">Slack sent you back with the error <code>${failure.error}</code>, so nothing was installed or linked.</p>${startAgain}`)
    case 'bad_state':
      return page(400, ctx, 'Installation expired', html`${statusIcon('warning')}<h1>This installation could not be completed</h1><p class="lead">Slack sent you back to a page that was not started in this browser, or was started too long ago (installations must be completed within 10 minutes). Nothing was installed or linked.</p>${startAgain}`)
    case 'missing_code':
      return page(400, ctx, 'Incomplete answer from Slack', html`${statusIcon('danger')}<h1>This installation could not be completed</h1><p class="lead">The answer from Slack was incomplete. Nothing was installed or linked.</p>${startAgain}`)
    case 'code_rejected':
      return page(400, ctx, 'Installation expired', html`${statusIcon('warning')}<h1>This installation could not be completed</h1><p class="lead">Slack no longer accepts this installation (it was already completed, or it took too long). Nothing was installed or linked.</p>${startAgain}`)
    case 'unusable':
      return page(400, ctx, 'Installation not usable', html`${statusIcon('danger')}<h1>This installation cannot be used</h1><p class="lead">Slack did not give the app its bot permissions, which ${ctx.productName} needs. Nothing was stored.</p>${startAgain}`)
    case 'misconfigured':
      return page(500, ctx, 'Installation unavailable', html`${statusIcon('danger')}<h1>Installation is not set up correctly</h1><p class="lead">Slack refused this server's app credentials or return address, so nothing was installed. This is for whoever runs ${ctx.productName} to fix; please tell them.</p>`)
    case 'slack_unreachable':
      return page(502, ctx, 'Slack unreachable', html`${statusIcon('warning')}<h1>Slack did not answer</h1><p class="lead">We could not reach Slack to complete the installation, so nothing was installed or linked. Please try again in a few minutes.</p>${startAgain}`)
    case 'identity_unavailable':
      return page(502, ctx, 'Installed, not linked yet', html`${statusIcon('warning')}<h1>Installed, but not linked yet</h1><p class="lead">${ctx.productName} is installed in ${failure.workspaceName ? html`<strong>${failure.workspaceName}</strong>` : 'your workspace'}, but Slack did not tell us who you are just now, so it was not linked. Nothing was linked.</p><p class="note">Open your install link again in a few minutes: installing again is harmless.</p>`)
    case 'server_error':
      return page(500, ctx, 'Something went wrong', html`${statusIcon('danger')}<h1>Something went wrong on our side</h1><p class="lead">We could not complete the installation. Please try again in a few minutes; if it keeps failing, tell whoever runs ${ctx.productName} for you.</p>`)
    default: {
      const unreachable: never = failure
      throw new Error(`unhandled install failure ${String((unreachable as { kind: string }).kind)}`)
    }
  }
}
