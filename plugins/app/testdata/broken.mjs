// Throws while it is imported.
throw new Error('this module cannot be loaded');
