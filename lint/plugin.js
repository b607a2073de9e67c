// The project's own lint rules, as one ESLint plugin.
import layers from './layers.js';
import lineWidth from './line-width.js';

export default { rules: { layers, 'line-width': lineWidth } };
