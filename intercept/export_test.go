package intercept

// OffDebugReg is offsetof(struct user, u_debugreg), for TestDebugRegOffset.
const OffDebugReg = offDebugReg
