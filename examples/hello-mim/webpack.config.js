// Bundles src/ into one ES5 file, build/index.js, as mimik's own mim templates do:
// webpack (target es5, so its runtime wrapper is ES5 too) + babel-loader with @babel/preset-env.
const path = require('path');
const webpack = require('webpack');
const pkg = require('./package.json');

module.exports = {
  mode: 'production',
  target: ['web', 'es5'],
  entry: path.resolve(__dirname, 'src/index.js'),
  output: {
    path: path.resolve(__dirname, 'build'),
    filename: 'index.js',
    clean: true,
  },
  module: {
    rules: [
      {
        test: /\.js$/,
        exclude: /node_modules/,
        use: {
          loader: 'babel-loader',
          options: {
            babelrc: false,
            configFile: false,
            // Transform every post-ES5 syntax whatever browserslist says: the runtime is Duktape (ES5).
            // No polyfills are added, so src/ must only use ES5 built-ins (no Object.assign, Promise...).
            presets: [['@babel/preset-env', { forceAllTransforms: true, ignoreBrowserslistConfig: true }]],
          },
        },
      },
    ],
  },
  plugins: [
    // Build-time constants: the bundle reports the version it was built from.
    new webpack.DefinePlugin({
      __MIM_NAME__: JSON.stringify(pkg.name),
      __MIM_VERSION__: JSON.stringify(pkg.version),
    }),
  ],
  performance: { hints: false },
};
