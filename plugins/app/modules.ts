import { loadApp, type LoadedApp, type Style } from './load.js';

/**
 * AppModules loads each application module once per worker and config generation: the
 * `app` units of one gate that name the same module (and export) share one instance, and
 * its close hook runs once, when the plugin closes after its units.
 */
export class AppModules {
  private readonly loaded = new Map<string, Promise<LoadedApp>>();

  /** get loads a module, or returns the instance already loaded. */
  get(file: string, name: string | undefined, style: Style): Promise<LoadedApp> {
    const key = `${file}\0${name ?? ''}\0${style}`;
    let app = this.loaded.get(key);
    if (!app) {
      app = loadApp(file, name, style);
      this.loaded.set(key, app);
      app.catch(() => this.loaded.delete(key));
    }
    return app;
  }

  /** close runs every loaded module's close hook; failures are returned, not thrown. */
  async close(): Promise<Error[]> {
    const apps = await Promise.allSettled(this.loaded.values());
    this.loaded.clear();
    const failures: Error[] = [];
    for (const a of apps) {
      if (a.status !== 'fulfilled') continue;
      try {
        await a.value.close?.();
      } catch (e) {
        failures.push(e as Error);
      }
    }
    return failures;
  }
}
