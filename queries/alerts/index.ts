export { AlertRuleSchema, METRICS, ruleIssues } from './rule.js'
export type { AlertRule, AlertRuleInput, AlertState, AlertStatus, AlertWindow, Dimension, Metric, NotifierConfig } from './rule.js'
export { applyRules, deleteRule, getRule, listRules, loadStates, putRule, readRuleFile, saveStates } from './store.js'
